import { type ApiOperation, buildOpenApiDocument } from '@micro-oncall/service-kit';

const OPERATIONS: ApiOperation[] = [
  {
    method: 'get',
    path: '/v1/activity',
    summary: 'Incidents seen per service, busiest first',
    role: 'viewer',
    responses: { 200: { description: '{ items: { service, incidents, lastEventAt }[] }' } },
  },
];

export const openApiDocument = () =>
  buildOpenApiDocument({
    title: 'app-registry',
    version: '0.1.0',
    description: 'The app-registry service',
    operations: OPERATIONS,
  });
