// THE OpenAPI 3.1 document of the Admin API: a plain object assembled from
// one part per area. It is served at /admin/v1/openapi.json and it is the
// source requests are validated from (request-validation.ts): a route that
// is not in it cannot be mounted, and what it says a body may hold is what
// the server accepts. A new area adds its part to PARTS, one line.
import { ADMIN_SCOPES } from '../resources/admin-resource.ts';
import { auditPart } from './openapi-audit.ts';
import { clientsPart } from './openapi-clients.ts';
import { commonComponents, SECURITY_SCHEME, type HttpMethod, type OpenApiOperation, type OpenApiPart } from './openapi-common.ts';
import { keysPart } from './openapi-keys.ts';
import { resourcesPart } from './openapi-resources.ts';
import { usersPart } from './openapi-users.ts';

const metaPart: OpenApiPart = {
  tags: [{ name: 'meta', description: 'This document' }],
  schemas: {},
  paths: {
    '/openapi.json': {
      get: {
        operationId: 'getOpenApiDocument',
        summary: 'This OpenAPI document (no token needed)',
        tags: ['meta'],
        security: [],
        responses: { '200': { description: 'The OpenAPI 3.1 document', content: { 'application/json': { schema: { type: 'object' } } } } },
      },
    },
  },
};

const PARTS: readonly OpenApiPart[] = [metaPart, clientsPart, resourcesPart, usersPart, keysPart, auditPart];

const SCOPE_DESCRIPTIONS: Record<string, string> = Object.fromEntries(
  ADMIN_SCOPES.map((scope) => {
    const [area, access] = scope.split(':');
    return [scope, `${access === 'read' ? 'Read' : 'Change'} ${area}`];
  }),
);

export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'Latchkey Admin API',
    version: '1.0.0',
    description:
      'Manage a Latchkey server over HTTP. Every operation but this document needs a Latchkey JWT access token for the resource `<ISSUER>/admin` ' +
      'carrying the operation’s scope (a client-credentials token of a client registered for that resource, or a person’s token from the console). ' +
      'Errors are RFC 9457 `application/problem+json` with a stable `code`. Lists are cursor-paginated (`limit`, `cursor` → `next_cursor`). ' +
      'Reads of one object return an `ETag`; PATCH and DELETE take an optional `If-Match` (a stale one is refused with 412).',
  },
  servers: [{ url: '/admin/v1' }],
  tags: PARTS.flatMap((part) => part.tags),
  paths: Object.assign({}, ...PARTS.map((part) => part.paths)) as Record<string, Partial<Record<HttpMethod, OpenApiOperation>>>,
  components: {
    ...commonComponents,
    schemas: Object.assign({}, commonComponents.schemas, ...PARTS.map((part) => part.schemas)) as Record<string, Record<string, unknown>>,
    securitySchemes: {
      [SECURITY_SCHEME]: {
        type: 'oauth2',
        description: 'Latchkey’s own access tokens for the resource `<ISSUER>/admin` (pass `resource=<ISSUER>/admin` at the token endpoint)',
        flows: { clientCredentials: { tokenUrl: '/token', scopes: SCOPE_DESCRIPTIONS } },
      },
    },
  },
} as const;

export type OpenApiDocument = typeof openApiDocument;

/** The operation for `method` and `path` (an OpenAPI path template), if the document has one. */
export function findOperation(method: string, path: string): OpenApiOperation | undefined {
  return openApiDocument.paths[path]?.[method.toLowerCase() as HttpMethod];
}
