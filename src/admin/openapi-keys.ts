// The OpenAPI part for /keys: the signing keys, rotated and retired by the
// same rules as `latchkey keys` (a new key is published before it signs; an
// old one leaves the JWKS only once no unexpired token can carry it).
import { json, pathParameter, problems, ref, requires, type JsonSchema, type OpenApiPart } from './openapi-common.ts';

const dateTimeOrNull: JsonSchema = { type: ['string', 'null'], format: 'date-time' };
const kid = pathParameter('kid', 'The key’s id (its JWK thumbprint)', { type: 'string', minLength: 1, maxLength: 128 });

export const keysPart: OpenApiPart = {
  tags: [{ name: 'keys', description: 'Signing keys and their rotation' }],
  schemas: {
    Key: {
      type: 'object',
      description: 'A signing key, without key material',
      required: ['kid', 'alg', 'state', 'signing', 'created_at', 'activates_at', 'superseded_at', 'retirable_at', 'retired_at'],
      properties: {
        kid: { type: 'string' },
        alg: { type: 'string', enum: ['ES256', 'RS256', 'EdDSA'] },
        state: { type: 'string', enum: ['published', 'active', 'retired'], description: 'published: in the JWKS, not signing yet; active; retired: out of the JWKS' },
        signing: { type: 'boolean', description: 'Whether tokens of this alg are signed with this key now' },
        created_at: { type: 'string', format: 'date-time' },
        activates_at: { ...dateTimeOrNull, description: 'When a published key starts signing' },
        superseded_at: { ...dateTimeOrNull, description: 'From when a newer key signs instead' },
        retirable_at: { ...dateTimeOrNull, description: 'From when it can be retired without force (null while it signs, or once retired)' },
        retired_at: dateTimeOrNull,
      },
    },
    KeyRotate: {
      type: 'object',
      additionalProperties: false,
      properties: {
        alg: { type: 'string', enum: ['ES256', 'RS256', 'EdDSA'], default: 'ES256' },
        activate_after: { type: 'integer', minimum: 0, maximum: 2_592_000, description: 'Seconds until the new key signs (default LATCHKEY_KEY_ACTIVATION_DELAY)' },
      },
    },
  },
  paths: {
    '/keys': {
      get: {
        operationId: 'listKeys',
        summary: 'Every signing key, retired ones included, newest first',
        tags: ['keys'],
        security: requires('keys:read'),
        responses: { '200': json('The keys', { type: 'object', required: ['items'], properties: { items: { type: 'array', items: ref('Key') } } }), ...problems() },
      },
      post: {
        operationId: 'rotateKey',
        summary: 'Publish a new key (as `latchkey keys rotate`); it starts signing after the activation delay. The body is optional.',
        tags: ['keys'],
        security: requires('keys:write'),
        requestBody: { required: false, content: { 'application/json': { schema: ref('KeyRotate') } } },
        responses: { '201': json('The new key', ref('Key')), ...problems('400', '404', '409', '415') },
      },
    },
    '/keys/{kid}/retire': {
      post: {
        operationId: 'retireKey',
        summary: 'Take a key out of the JWKS (as `latchkey keys retire`): refused with 409 key_in_use while it signs or tokens it signed may be unexpired, unless force=true',
        tags: ['keys'],
        security: requires('keys:write'),
        parameters: [
          kid,
          { name: 'force', in: 'query', required: false, description: 'Retire now, invalidating unexpired tokens it signed (never the only active key of its alg)', schema: { type: 'boolean', default: false } },
        ],
        responses: {
          '200': json('The retired key; `forced` says whether unexpired tokens it signed stopped verifying', { allOf: [ref('Key'), { type: 'object', required: ['forced'], properties: { forced: { type: 'boolean' } } }] }),
          ...problems('400', '404', '409'),
        },
      },
    },
  },
};
