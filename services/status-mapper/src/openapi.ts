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
    title: 'status-mapper',
    version: '0.1.0',
    description: 'External provider status mapped onto internal services',
    operations: OPERATIONS,
  });
