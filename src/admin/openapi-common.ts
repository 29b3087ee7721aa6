// What every part of the OpenAPI document shares: the part shape, the
// problem schema and responses, the list parameters (limit, cursor), If-Match
// and ETag, and small builders the per-area parts use for their operations.
import type { AdminScope } from '../resources/admin-resource.ts';

export type JsonSchema = Readonly<Record<string, unknown>>;

/** An OpenAPI Operation Object, as far as Latchkey uses one. */
export interface OpenApiOperation {
  readonly operationId: string;
  readonly summary: string;
  readonly description?: string;
  readonly tags: readonly string[];
  readonly security?: readonly Readonly<Record<string, readonly string[]>>[];
  readonly parameters?: readonly JsonSchema[];
  readonly requestBody?: JsonSchema;
  readonly responses: Readonly<Record<string, JsonSchema>>;
}

export type HttpMethod = 'get' | 'post' | 'patch' | 'delete' | 'put';

/** One area's share of the document: its tag, paths (relative to /admin/v1) and component schemas. */
export interface OpenApiPart {
  readonly tags: readonly { readonly name: string; readonly description: string }[];
  readonly paths: Readonly<Record<string, Partial<Record<HttpMethod, OpenApiOperation>>>>;
  readonly schemas: Readonly<Record<string, JsonSchema>>;
}

/** The security scheme's name in the document. */
export const SECURITY_SCHEME = 'latchkey';

/** `security` of an operation that needs `scope` (exactly one per operation). */
export function requires(scope: AdminScope): OpenApiOperation['security'] {
  return [{ [SECURITY_SCHEME]: [scope] }];
}

export const ref = (schema: string): JsonSchema => ({ $ref: `#/components/schemas/${schema}` });

/** A JSON response with `schema`, optionally carrying an ETag. */
export function json(description: string, schema: JsonSchema, options: { readonly etag?: boolean; readonly location?: boolean } = {}): JsonSchema {
  return {
    description,
    ...((options.etag || options.location) && {
      headers: {
        ...(options.etag && { ETag: { $ref: '#/components/headers/ETag' } }),
        ...(options.location && { Location: { description: 'The new object’s URL', schema: { type: 'string' } } }),
      },
    }),
    content: { 'application/json': { schema } },
  };
}

/** A request body accepted as JSON; `patch` also accepts application/merge-patch+json (RFC 7396). */
export function body(schema: JsonSchema, options: { readonly patch?: boolean } = {}): JsonSchema {
  return {
    required: true,
    content: {
      'application/json': { schema },
      ...(options.patch && { 'application/merge-patch+json': { schema } }),
    },
  };
}

const PROBLEM_DESCRIPTIONS: Record<string, string> = {
  '400': 'Invalid input: `invalid_body` (with `errors` naming each field) or `invalid_query`',
  '401': '`invalid_token`: no token, or one that is expired, badly signed or for another audience',
  '403': '`insufficient_scope`: the token lacks this operation’s scope',
  '404': '`not_found`',
  '409': '`conflict` (or `key_in_use`)',
  '412': '`precondition_failed`: If-Match names a version that is no longer current',
  '415': '`unsupported_media_type`: the body is not application/json (or merge-patch+json for PATCH)',
};

/** Problem responses (RFC 9457) for the given statuses, plus 401 and 403 for a secured operation. */
export function problems(...statuses: string[]): Readonly<Record<string, JsonSchema>> {
  const all = [...new Set(['401', '403', ...statuses])].sort();
  return Object.fromEntries(all.map((status) => [status, { $ref: `#/components/responses/Problem${status}` }]));
}

export const limitParameter: JsonSchema = { $ref: '#/components/parameters/Limit' };
export const cursorParameter: JsonSchema = { $ref: '#/components/parameters/Cursor' };
export const ifMatchParameter: JsonSchema = { $ref: '#/components/parameters/IfMatch' };

/** A path parameter named `name`. */
export function pathParameter(name: string, description: string, schema: JsonSchema = { type: 'string', minLength: 1, maxLength: 2048 }): JsonSchema {
  return { name, in: 'path', required: true, description, schema };
}

/** `{ items: [...], next_cursor }` of `item`. */
export function page(item: JsonSchema): JsonSchema {
  return {
    type: 'object',
    required: ['items', 'next_cursor'],
    properties: {
      items: { type: 'array', items: item },
      next_cursor: { type: ['string', 'null'], description: 'Pass as `cursor` for the next page; null on the last page' },
    },
  };
}

/** The components every part uses. */
export const commonComponents = {
  schemas: {
    Problem: {
      type: 'object',
      description: 'RFC 9457 problem details',
      required: ['type', 'title', 'status', 'code', 'detail'],
      properties: {
        type: { type: 'string', description: '`urn:latchkey:problem:<code>`' },
        title: { type: 'string' },
        status: { type: 'integer' },
        code: {
          type: 'string',
          enum: ['invalid_token', 'insufficient_scope', 'not_found', 'invalid_body', 'invalid_query', 'precondition_failed', 'conflict', 'key_in_use', 'unsupported_media_type', 'method_not_allowed', 'payload_too_large', 'service_unavailable', 'internal_error'],
        },
        detail: { type: 'string' },
        errors: {
          type: 'array',
          items: { type: 'object', required: ['field', 'message'], properties: { field: { type: 'string' }, message: { type: 'string' } } },
        },
      },
    },
  },
  parameters: {
    Limit: { name: 'limit', in: 'query', required: false, description: 'Page size', schema: { type: 'integer', minimum: 1, maximum: 200, default: 50 } },
    Cursor: { name: 'cursor', in: 'query', required: false, description: 'The `next_cursor` of the previous page', schema: { type: 'string', minLength: 1, maxLength: 1024 } },
    IfMatch: {
      name: 'If-Match',
      in: 'header',
      required: false,
      description: 'The ETag read before. Optional: without it the change is unconditional; with a stale one the answer is 412 and nothing changes.',
      schema: { type: 'string' },
    },
  },
  headers: {
    ETag: { description: 'The object’s current version (strong), for If-Match', schema: { type: 'string' } },
  },
  responses: Object.fromEntries(
    Object.entries(PROBLEM_DESCRIPTIONS).map(([status, description]) => [
      `Problem${status}`,
      { description, content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } },
    ]),
  ),
} as const;
