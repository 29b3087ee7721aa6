// Validates each Admin API request against its operation in the OpenAPI
// document (ajv, JSON Schema 2020-12, with ajv-formats): path parameters,
// query (values coerced to their declared types, unknown names refused), the
// content type of a body (415 otherwise) and the JSON body itself. Every
// schema is compiled once, when the router is built; no check is written by
// hand beside the document. Failures are 400 problems naming each field.
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import formatsModule, { type FormatsPlugin } from 'ajv-formats';
import type { Middleware } from 'koa';
import type { AdminInput } from './admin-route.ts';
import type { JsonSchema, OpenApiOperation } from './openapi-common.ts';
import { ProblemError, type FieldError } from './problem.ts';

/** Far above any Admin API body (a client's registration is a few kB). */
const MAX_BODY_BYTES = 256 * 1024;

interface Parameter {
  readonly name: string;
  readonly in: 'path' | 'query' | 'header';
  readonly required?: boolean;
  readonly schema: JsonSchema;
}

interface CompiledOperation {
  readonly params: ValidateFunction;
  readonly query: ValidateFunction;
  /** Content types a body may have, with the body's validator; undefined when the operation takes no body. */
  readonly body: { readonly types: readonly string[]; readonly validate: ValidateFunction; readonly optional: boolean } | undefined;
}

// CommonJS default export seen through NodeNext: the plugin is module.exports.
const addFormats = ((formatsModule as unknown as { default?: FormatsPlugin }).default ?? formatsModule) as FormatsPlugin;

interface OpenApiLike {
  readonly components: { readonly parameters: Readonly<Record<string, unknown>>; readonly schemas: Readonly<Record<string, unknown>> };
}

export function createRequestValidation(document: OpenApiLike) {
  // Bodies are taken as sent; parameters arrive as strings and are coerced to their declared types.
  const bodies = new Ajv2020({ allErrors: true, strict: false });
  const parameters = new Ajv2020({ allErrors: true, strict: false, coerceTypes: true, useDefaults: true });
  for (const ajv of [bodies, parameters]) {
    addFormats(ajv);
    // The document's components, so that `#/components/schemas/X` resolves (refs are rewritten to point here).
    ajv.addSchema({ $id: 'openapi', components: document.components }, 'openapi');
  }

  function resolveParameter(parameter: JsonSchema): Parameter {
    const target = typeof parameter.$ref === 'string' ? document.components.parameters[parameter.$ref.replace('#/components/parameters/', '')] : parameter;
    if (!target) throw new Error(`unknown parameter ${String(parameter.$ref)}`);
    return target as Parameter;
  }

  function objectOf(list: readonly Parameter[], additional: boolean): JsonSchema {
    return {
      type: 'object',
      properties: Object.fromEntries(list.map((parameter) => [parameter.name, rewriteRefs(parameter.schema)])),
      required: list.filter((parameter) => parameter.required).map((parameter) => parameter.name),
      additionalProperties: additional,
    };
  }

  function compile(operation: OpenApiOperation): CompiledOperation {
    const list = (operation.parameters ?? []).map(resolveParameter);
    const content = (operation.requestBody?.content ?? undefined) as Record<string, { schema: JsonSchema }> | undefined;
    const types = content ? Object.keys(content) : [];
    return {
      params: parameters.compile(objectOf(list.filter((p) => p.in === 'path'), true)),
      query: parameters.compile(objectOf(list.filter((p) => p.in === 'query'), false)),
      body: content && types.length > 0 ? { types, validate: bodies.compile(rewriteRefs(content[types[0]!]!.schema)), optional: operation.requestBody?.required !== true } : undefined,
    };
  }

  return {
    /** The middleware validating requests for `operation`; sets ctx.state.input. Compiles now. */
    forOperation(operation: OpenApiOperation): Middleware {
      const compiled = compile(operation);
      return async (ctx, next) => {
        const params = { ...(ctx.params as Record<string, string>) };
        if (!compiled.params(params)) throw invalid('invalid_query', 'A path parameter is not valid.', fieldErrors(compiled.params.errors, ''));
        const query: Record<string, unknown> = { ...ctx.query };
        if (!compiled.query(query)) throw invalid('invalid_query', 'The query is not valid.', fieldErrors(compiled.query.errors, ''));
        let body: unknown;
        // An optional body may be left out altogether: no body (Koa's is() is null) or an empty one.
        if (compiled.body && !(compiled.body.optional && (ctx.request.length === 0 || ctx.request.is(...compiled.body.types) === null))) {
          const type = ctx.request.is(...compiled.body.types);
          if (!type) {
            throw new ProblemError(415, 'unsupported_media_type', `This operation takes a body of type ${compiled.body.types.join(' or ')}.`, compiled.body.types.includes('application/merge-patch+json') ? { headers: { 'Accept-Patch': compiled.body.types.join(', ') } } : {});
          }
          body = await readJsonBody(ctx.req);
          if (!compiled.body.validate(body)) throw invalid('invalid_body', 'The request body is not valid.', fieldErrors(compiled.body.validate.errors, ''));
        }
        const input: AdminInput = { params, query, body };
        ctx.state.input = input;
        await next();
      };
    },
  };
}

export type RequestValidation = ReturnType<typeof createRequestValidation>;

function invalid(code: 'invalid_body' | 'invalid_query', detail: string, errors: FieldError[]): ProblemError {
  const first = errors[0];
  return new ProblemError(400, code, first ? `${first.field || 'body'}: ${first.message}` : detail, { errors });
}

/** `#/components/...` → `openapi#/components/...`, so a compiled schema finds the shared components. */
function rewriteRefs(schema: unknown): JsonSchema {
  return JSON.parse(JSON.stringify(schema), (key, value: unknown) =>
    key === '$ref' && typeof value === 'string' && value.startsWith('#/') ? `openapi${value}` : value,
  ) as JsonSchema;
}

/** ajv's errors as fields in wire notation: `/redirect_uris/0` → `redirect_uris[0]`, with the missing or unknown property named. */
function fieldErrors(errors: readonly ErrorObject[] | null | undefined, prefix: string): FieldError[] {
  const seen = new Set<string>();
  const result: FieldError[] = [];
  for (const error of errors ?? []) {
    // anyOf's own error repeats what its branches said.
    if (error.keyword === 'anyOf') continue;
    const segments = error.instancePath.split('/').slice(1).map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'));
    const property = (error.params as { missingProperty?: string; additionalProperty?: string }).missingProperty ?? (error.params as { additionalProperty?: string }).additionalProperty;
    if (property !== undefined) segments.push(property);
    const field = segments.reduce((path, segment) => (/^\d+$/.test(segment) ? `${path}[${segment}]` : path ? `${path}.${segment}` : segment), prefix);
    const message = error.keyword === 'additionalProperties' ? 'is not a known field' : error.keyword === 'required' ? 'is required' : (error.message ?? 'is not valid');
    const key = `${field}\u0000${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    result.push({ field, message });
  }
  return result;
}

/** The body as JSON, bounded; 400 invalid_body when it is not JSON. */
async function readJsonBody(req: AsyncIterable<Buffer>): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new ProblemError(413, 'payload_too_large', `The request body is larger than ${MAX_BODY_BYTES} bytes.`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new ProblemError(400, 'invalid_body', 'The request body is not JSON.', { errors: [{ field: '', message: 'is not JSON' }] });
  }
}
