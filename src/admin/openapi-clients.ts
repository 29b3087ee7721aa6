// The OpenAPI part for /clients: OAuth clients, in RFC 7591 client metadata
// names (RFC 9126's require_pushed_authorization_requests and RFC 9449's
// dpop_bound_access_tokens among them), plus Latchkey's own (resources,
// require_verified_email, require_mfa, token_exchange_audiences).
import { body, cursorParameter, ifMatchParameter, json, limitParameter, page, pathParameter, problems, ref, requires, type JsonSchema, type OpenApiPart } from './openapi-common.ts';

const uri: JsonSchema = { type: 'string', format: 'uri', maxLength: 2048 };
const uris: JsonSchema = { type: 'array', items: uri, maxItems: 100 };
const DEVICE_CODE = 'urn:ietf:params:oauth:grant-type:device_code';
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
/** Grant types as stored and shown: the device grant by its URN (RFC 8628). */
const grantTypes: JsonSchema = { type: 'array', minItems: 1, items: { type: 'string', enum: ['authorization_code', 'refresh_token', 'client_credentials', DEVICE_CODE, TOKEN_EXCHANGE] } };
/** Grant types as accepted: `device_code` too, stored as the URN. */
const grantTypesIn: JsonSchema = {
  type: 'array',
  minItems: 1,
  items: { type: 'string', enum: ['authorization_code', 'refresh_token', 'client_credentials', DEVICE_CODE, 'device_code', TOKEN_EXCHANGE, 'token-exchange'] },
  description: `${DEVICE_CODE} (device authorization grant, RFC 8628) may be given as device_code, ${TOKEN_EXCHANGE} (RFC 8693) as token-exchange; both are stored and shown as the URN`,
};
const authMethod: JsonSchema = { type: 'string', enum: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'] };
const scope: JsonSchema = { type: 'string', minLength: 1, maxLength: 4096, description: 'Space-separated; bounds everything the client may be granted' };
const clientName: JsonSchema = { type: 'string', minLength: 1, maxLength: 200 };

/** The fields a client's registration is made of, with their types (create and patch share them). */
const metadata = (nullable: boolean): Record<string, JsonSchema> => {
  const orNull = (schema: JsonSchema): JsonSchema => (nullable ? { anyOf: [schema, { type: 'null' }] } : schema);
  return {
    client_name: clientName,
    redirect_uris: orNull(uris),
    post_logout_redirect_uris: orNull(uris),
    grant_types: grantTypesIn,
    response_types: { type: 'array', items: { type: 'string', enum: ['code'] }, description: 'Follows from grant_types; accepted for RFC 7591 payloads' },
    token_endpoint_auth_method: authMethod,
    scope: orNull(scope),
    resources: orNull({ type: 'array', items: uri, maxItems: 100, description: 'Identifiers of registered resources' }),
    jwks_uri: orNull(uri),
    backchannel_logout_uri: orNull(uri),
    require_verified_email: orNull({ type: 'boolean' }),
    require_mfa: orNull({ type: 'boolean' }),
    // RFC 7591 §2's human-facing metadata, so a registration payload is taken as it is.
    client_uri: orNull(uri),
    logo_uri: orNull(uri),
    tos_uri: orNull(uri),
    policy_uri: orNull(uri),
    contacts: orNull({ type: 'array', maxItems: 10, items: { type: 'string', format: 'email', maxLength: 254 } }),
    require_pushed_authorization_requests: orNull({ type: 'boolean', description: 'RFC 9126: authorization requests must be pushed to /request first' }),
    dpop_bound_access_tokens: orNull({ type: 'boolean', description: 'RFC 9449: every token request must carry a DPoP proof; tokens are bound to its key' }),
    token_exchange_audiences: orNull({ type: 'array', items: uri, maxItems: 100, description: `RFC 8693: registered resources this client may exchange a person's token for (needs the ${TOKEN_EXCHANGE} grant)` }),
  };
};

export const clientsPart: OpenApiPart = {
  tags: [{ name: 'clients', description: 'OAuth clients' }],
  schemas: {
    Client: {
      type: 'object',
      required: ['client_id', 'client_name', 'application_type', 'token_endpoint_auth_method', 'grant_types', 'response_types', 'redirect_uris', 'post_logout_redirect_uris', 'scope', 'resources', 'require_verified_email', 'require_mfa', 'require_pushed_authorization_requests', 'dpop_bound_access_tokens', 'client_secret_set', 'created_at', 'updated_at'],
      properties: {
        client_id: { type: 'string' },
        client_name: { type: 'string' },
        application_type: { type: 'string', enum: ['web', 'native'] },
        token_endpoint_auth_method: authMethod,
        grant_types: grantTypes,
        response_types: { type: 'array', items: { type: 'string' } },
        redirect_uris: { type: 'array', items: { type: 'string' } },
        post_logout_redirect_uris: { type: 'array', items: { type: 'string' } },
        scope: { type: 'string' },
        resources: { type: 'array', items: { type: 'string' } },
        jwks_uri: { type: 'string' },
        backchannel_logout_uri: { type: 'string' },
        require_verified_email: { type: 'boolean' },
        require_mfa: { type: 'boolean' },
        client_uri: { type: 'string' },
        logo_uri: { type: 'string' },
        tos_uri: { type: 'string' },
        policy_uri: { type: 'string' },
        contacts: { type: 'array', items: { type: 'string' } },
        require_pushed_authorization_requests: { type: 'boolean' },
        dpop_bound_access_tokens: { type: 'boolean' },
        token_exchange_audiences: { type: 'array', items: { type: 'string' } },
        client_secret_set: { type: 'boolean', description: 'Whether the client authenticates with a secret (never shown after creation)' },
        created_at: { type: 'string', format: 'date-time' },
        updated_at: { type: 'string', format: 'date-time' },
      },
    },
    ClientCreate: {
      type: 'object',
      description: 'RFC 7591 client metadata. Without grant_types: authorization_code + refresh_token (redirect_uris needed). Without scope: derived from the resources.',
      required: ['client_name'],
      additionalProperties: false,
      properties: metadata(false),
    },
    ClientPatch: {
      type: 'object',
      description: 'RFC 7396 merge patch: absent fields stay, null resets a field to its default (an empty list, false, a scope derived from the resources). The result is checked like a new registration.',
      additionalProperties: false,
      minProperties: 1,
      properties: metadata(true),
    },
    ClientCreated: {
      description: 'The client, and its secret this once (confidential clients)',
      allOf: [ref('Client'), { type: 'object', properties: { client_secret: { type: 'string' } } }],
    },
    ClientSecret: {
      type: 'object',
      required: ['client_id', 'client_secret'],
      properties: { client_id: { type: 'string' }, client_secret: { type: 'string' } },
    },
  },
  paths: {
    '/clients': {
      get: {
        operationId: 'listClients',
        summary: 'List clients, in client_id order',
        tags: ['clients'],
        security: requires('clients:read'),
        parameters: [limitParameter, cursorParameter],
        responses: { '200': json('A page of clients', page(ref('Client'))), ...problems('400') },
      },
      post: {
        operationId: 'createClient',
        summary: 'Register a client; a confidential one’s secret is in the answer, once',
        tags: ['clients'],
        security: requires('clients:write'),
        requestBody: body(ref('ClientCreate')),
        responses: { '201': json('Registered', ref('ClientCreated'), { etag: true, location: true }), ...problems('400', '415') },
      },
    },
    '/clients/{client_id}': {
      get: {
        operationId: 'getClient',
        summary: 'A client (never its secret)',
        tags: ['clients'],
        security: requires('clients:read'),
        parameters: [pathParameter('client_id', 'The client_id', { type: 'string', minLength: 1, maxLength: 64 })],
        responses: { '200': json('The client', ref('Client'), { etag: true }), ...problems('404') },
      },
      patch: {
        operationId: 'updateClient',
        summary: 'Change a client (merge patch)',
        tags: ['clients'],
        security: requires('clients:write'),
        parameters: [pathParameter('client_id', 'The client_id', { type: 'string', minLength: 1, maxLength: 64 }), ifMatchParameter],
        requestBody: body(ref('ClientPatch'), { patch: true }),
        responses: { '200': json('The changed client; a secret only if the change gave it one', ref('ClientCreated'), { etag: true }), ...problems('400', '404', '412', '415') },
      },
      delete: {
        operationId: 'deleteClient',
        summary: 'Delete a client',
        tags: ['clients'],
        security: requires('clients:write'),
        parameters: [pathParameter('client_id', 'The client_id', { type: 'string', minLength: 1, maxLength: 64 }), ifMatchParameter],
        responses: { '204': { description: 'Deleted' }, ...problems('404', '412') },
      },
    },
    '/clients/{client_id}/secret': {
      post: {
        operationId: 'rotateClientSecret',
        summary: 'Replace a confidential client’s secret; the old one stops working at once',
        tags: ['clients'],
        security: requires('clients:write'),
        parameters: [pathParameter('client_id', 'The client_id', { type: 'string', minLength: 1, maxLength: 64 })],
        responses: { '200': json('The new secret, this once', ref('ClientSecret')), ...problems('400', '404') },
      },
    },
  },
};
