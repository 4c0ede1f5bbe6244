import { z } from 'zod';
import type { Role } from './auth.js';

type JsonSchema = Record<string, unknown>;
type SchemaSource = z.ZodType | JsonSchema;

export interface ApiOperation {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** Express-style path: `/v1/incidents/:id`. */
  path: string;
  summary: string;
  description?: string;
  /** Role the route requires (`null` for unauthenticated routes); documented and turned into security. */
  role: Role | null;
  /** How the caller authenticates when role is set: bearer JWT / session cookie (default), or a webhook credential. */
  security?: 'user' | 'webhook';
  query?: z.ZodObject;
  pathParams?: Record<string, string>;
  /** Request headers the operation reads (beyond authentication), by name. */
  headers?: Record<string, { description: string; required?: boolean; schema?: JsonSchema }>;
  body?: { schema: SchemaSource; contentType?: string; description?: string };
  responses: Record<number, { description: string; schema?: SchemaSource; contentType?: string }>;
}

const ErrorBody = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
    requestId: z.string(),
  }),
});

const toSchema = (source: SchemaSource, io: 'input' | 'output'): JsonSchema => {
  if (source instanceof z.ZodType) {
    const { $schema: _ignored, ...rest } = z.toJSONSchema(source, {
      io,
      unrepresentable: 'any',
      target: 'draft-2020-12',
    }) as JsonSchema;
    return rest;
  }
  return source;
};

/**
 * Builds an OpenAPI 3.1 document from the zod schemas the routes validate with, so the
 * published contract and the running validation cannot drift apart.
 */
export function buildOpenApiDocument(opts: {
  title: string;
  version: string;
  description: string;
  operations: ApiOperation[];
}) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of opts.operations) {
    const path = op.path.replace(/:([A-Za-z_]+)/g, '{$1}');
    const parameters: unknown[] = [];
    for (const [name, description] of Object.entries(op.pathParams ?? {})) {
      parameters.push({ name, in: 'path', required: true, description, schema: { type: 'string' } });
    }
    for (const [name, header] of Object.entries(op.headers ?? {})) {
      parameters.push({
        name,
        in: 'header',
        required: header.required ?? false,
        description: header.description,
        schema: header.schema ?? { type: 'string' },
      });
    }
    if (op.query) {
      const schema = toSchema(op.query, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] };
      for (const [name, property] of Object.entries(schema.properties ?? {})) {
        parameters.push({ name, in: 'query', required: schema.required?.includes(name) ?? false, schema: property });
      }
    }
    const errors: Record<string, unknown> = {};
    const errorCodes = [400, ...(op.role ? [401, 403] : []), 429, 500, 503];
    for (const status of errorCodes) {
      if (op.responses[status]) continue;
      errors[status] = {
        description: 'error',
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      };
    }
    paths[path] ??= {};
    paths[path][op.method] = {
      summary: op.summary,
      ...(op.description ? { description: op.description } : {}),
      ...(op.role
        ? {
            'x-required-role': op.role,
            security: op.security === 'webhook' ? [{ webhook: [] }] : [{ bearer: [] }, { session: [] }],
          }
        : { security: [] }),
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(op.body
        ? {
            requestBody: {
              required: true,
              ...(op.body.description ? { description: op.body.description } : {}),
              content: { [op.body.contentType ?? 'application/json']: { schema: toSchema(op.body.schema, 'input') } },
            },
          }
        : {}),
      responses: {
        ...Object.fromEntries(
          Object.entries(op.responses).map(([status, r]) => [
            status,
            {
              description: r.description,
              ...(r.schema
                ? { content: { [r.contentType ?? 'application/json']: { schema: toSchema(r.schema, 'output') } } }
                : {}),
            },
          ]),
        ),
        ...errors,
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: opts.title, version: opts.version, description: opts.description },
    paths,
    components: {
      schemas: { Error: toSchema(ErrorBody, 'output') },
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'Access token from the configured OIDC issuer',
        },
        session: {
          type: 'apiKey',
          in: 'cookie',
          name: 'mo_session',
          description: 'Browser session; state-changing requests also need X-CSRF-Token',
        },
        webhook: {
          type: 'http',
          scheme: 'bearer',
          description:
            'Provider credential: PagerDuty X-PagerDuty-Signature, or bearer/basic for Opsgenie and Alertmanager',
        },
      },
    },
  };
}
