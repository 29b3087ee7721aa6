// The OpenAPI part for /resources: the APIs access tokens are issued for
// (RFC 8707 resource indicators).
import { body, cursorParameter, ifMatchParameter, json, limitParameter, page, pathParameter, problems, ref, requires, type JsonSchema, type OpenApiPart } from './openapi-common.ts';

const scopes: JsonSchema = { type: 'array', minItems: 1, maxItems: 200, items: { type: 'string', pattern: '^[\\x21\\x23-\\x5B\\x5D-\\x7E]+$', maxLength: 200 } };
const ttl: JsonSchema = { type: 'integer', minimum: 1, maximum: 86_400, description: 'Access-token lifetime in seconds' };
const alg: JsonSchema = { type: 'string', enum: ['ES256', 'RS256', 'EdDSA'] };
const resourceId = pathParameter('resource_id', 'The resource’s `id` (not its identifier URL)', { type: 'string', minLength: 1, maxLength: 64 });

export const resourcesPart: OpenApiPart = {
  tags: [{ name: 'resources', description: 'APIs that access tokens are issued for' }],
  schemas: {
    Resource: {
      type: 'object',
      required: ['id', 'identifier', 'scopes', 'access_token_ttl', 'signing_alg', 'created_at', 'updated_at'],
      properties: {
        id: { type: 'string' },
        identifier: { type: 'string', description: 'The resource indicator: the `aud` of its tokens' },
        scopes: { type: 'array', items: { type: 'string' } },
        access_token_ttl: { type: 'integer' },
        signing_alg: alg,
        created_at: { type: 'string', format: 'date-time' },
        updated_at: { type: 'string', format: 'date-time' },
      },
    },
    ResourceCreate: {
      type: 'object',
      required: ['identifier', 'scopes'],
      additionalProperties: false,
      properties: { identifier: { type: 'string', format: 'uri', maxLength: 2048 }, scopes, access_token_ttl: ttl, signing_alg: alg },
    },
    ResourcePatch: {
      type: 'object',
      description: 'RFC 7396 merge patch. The identifier never changes (tokens carry it as `aud`).',
      additionalProperties: false,
      minProperties: 1,
      properties: { scopes, access_token_ttl: ttl, signing_alg: alg },
    },
  },
  paths: {
    '/resources': {
      get: {
        operationId: 'listResources',
        summary: 'List resources, in id order',
        tags: ['resources'],
        security: requires('resources:read'),
        parameters: [limitParameter, cursorParameter],
        responses: { '200': json('A page of resources', page(ref('Resource'))), ...problems('400') },
      },
      post: {
        operationId: 'createResource',
        summary: 'Register a resource',
        tags: ['resources'],
        security: requires('resources:write'),
        requestBody: body(ref('ResourceCreate')),
        responses: { '201': json('Registered', ref('Resource'), { etag: true, location: true }), ...problems('400', '409', '415') },
      },
    },
    '/resources/{resource_id}': {
      get: {
        operationId: 'getResource',
        summary: 'A resource',
        tags: ['resources'],
        security: requires('resources:read'),
        parameters: [resourceId],
        responses: { '200': json('The resource', ref('Resource'), { etag: true }), ...problems('404') },
      },
      patch: {
        operationId: 'updateResource',
        summary: 'Change a resource’s scopes, token lifetime or signing algorithm (merge patch)',
        tags: ['resources'],
        security: requires('resources:write'),
        parameters: [resourceId, ifMatchParameter],
        requestBody: body(ref('ResourcePatch'), { patch: true }),
        responses: { '200': json('The changed resource', ref('Resource'), { etag: true }), ...problems('400', '404', '412', '415') },
      },
      delete: {
        operationId: 'deleteResource',
        summary: 'Delete a resource and remove it from every client, in one transaction (the admin resource cannot be deleted: 409)',
        tags: ['resources'],
        security: requires('resources:write'),
        parameters: [resourceId, ifMatchParameter],
        responses: { '204': { description: 'Deleted' }, ...problems('404', '409', '412') },
      },
    },
  },
};
