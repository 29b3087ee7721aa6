// The OpenAPI part for /users: end-user accounts as an operator sees them
// (never a password, never a second factor's secret), their sessions and
// grants, and their second factors.
import { body, cursorParameter, ifMatchParameter, json, limitParameter, page, pathParameter, problems, ref, requires, type JsonSchema, type OpenApiPart } from './openapi-common.ts';

const email: JsonSchema = { type: 'string', minLength: 3, maxLength: 254, description: 'Stored trimmed and lower-case' };
const name: JsonSchema = { type: 'string', maxLength: 200 };
const password: JsonSchema = { type: 'string', minLength: 1, maxLength: 1024, description: 'NIST SP 800-63B rules: 8 to 256 characters, not one of the most common passwords' };
const role: JsonSchema = { type: 'string', enum: ['admin', 'viewer', 'none'], description: 'What the person may do in the admin console: admin (every admin scope), viewer (the :read scopes), none' };
const userId = pathParameter('user_id', 'The account’s id (its `sub`)', { type: 'string', minLength: 1, maxLength: 64 });
const userIdOnly = [userId];
const dateTime: JsonSchema = { type: 'string', format: 'date-time' };

export const usersPart: OpenApiPart = {
  tags: [{ name: 'users', description: 'End-user accounts, their sessions, grants and second factors' }],
  schemas: {
    User: {
      type: 'object',
      required: ['user_id', 'email', 'email_verified', 'name', 'disabled', 'role', 'mfa', 'created_at', 'updated_at'],
      properties: {
        user_id: { type: 'string', description: 'The stable subject identifier (`sub`)' },
        email: { type: 'string' },
        email_verified: { type: 'boolean' },
        name: { type: ['string', 'null'] },
        disabled: { type: 'boolean', description: 'A disabled account cannot sign in, and its sessions and refresh tokens stop working' },
        role,
        mfa: {
          type: 'object',
          required: ['totp', 'passkeys', 'recovery_codes_left'],
          properties: {
            totp: { type: 'boolean', description: 'A confirmed authenticator app' },
            passkeys: { type: 'integer', minimum: 0 },
            recovery_codes_left: { type: 'integer', minimum: 0 },
          },
        },
        created_at: dateTime,
        updated_at: dateTime,
      },
    },
    UserCreate: {
      type: 'object',
      required: ['email'],
      additionalProperties: false,
      properties: {
        email,
        name,
        password: { ...password, description: 'Optional: without it an invitation is mailed (a link to choose one, good for 7 days); refused naming `password` when LATCHKEY_SMTP_URL is not set' },
      },
    },
    UserPatch: {
      type: 'object',
      description: 'RFC 7396 merge patch: absent fields stay; `name: null` clears the name. A new email is not verified (nobody proved it).',
      additionalProperties: false,
      minProperties: 1,
      properties: { name: { type: ['string', 'null'], maxLength: 200 }, email, disabled: { type: 'boolean' }, role },
    },
    UserPassword: { type: 'object', required: ['password'], additionalProperties: false, properties: { password } },
    Grant: {
      type: 'object',
      description: 'What one client was allowed by the person. The grant_id names the grant and opens nothing.',
      required: ['grant_id', 'client_id', 'scopes', 'resources', 'expires_at'],
      properties: {
        grant_id: { type: 'string' },
        client_id: { type: 'string' },
        scopes: { type: 'array', items: { type: 'string' }, description: 'OpenID scopes (openid, profile, email, offline_access)' },
        resources: {
          type: 'array',
          items: { type: 'object', required: ['identifier', 'scopes'], properties: { identifier: { type: 'string' }, scopes: { type: 'array', items: { type: 'string' } } } },
        },
        expires_at: { type: ['string', 'null'], format: 'date-time' },
      },
    },
  },
  paths: {
    '/users': {
      get: {
        operationId: 'listUsers',
        summary: 'List users in id order, optionally only those whose email starts with a prefix',
        tags: ['users'],
        security: requires('users:read'),
        parameters: [
          limitParameter,
          cursorParameter,
          { name: 'email_prefix', in: 'query', required: false, description: 'Matched literally (case-insensitively), % and _ included', schema: { type: 'string', minLength: 1, maxLength: 254 } },
        ],
        responses: { '200': json('A page of users', page(ref('User'))), ...problems('400') },
      },
      post: {
        operationId: 'createUser',
        summary: 'Create a user with a password, or invite them by mail',
        tags: ['users'],
        security: requires('users:write'),
        requestBody: body(ref('UserCreate')),
        responses: { '201': json('Created (an invitation is queued when no password was given)', ref('User'), { etag: true, location: true }), ...problems('400', '409', '415') },
      },
    },
    '/users/{user_id}': {
      get: {
        operationId: 'getUser',
        summary: 'A user',
        tags: ['users'],
        security: requires('users:read'),
        parameters: userIdOnly,
        responses: { '200': json('The user', ref('User'), { etag: true }), ...problems('404') },
      },
      patch: {
        operationId: 'updateUser',
        summary: 'Change a user’s name, email, disabled flag or console role (merge patch)',
        tags: ['users'],
        security: requires('users:write'),
        parameters: [userId, ifMatchParameter],
        requestBody: body(ref('UserPatch'), { patch: true }),
        responses: { '200': json('The changed user', ref('User'), { etag: true }), ...problems('400', '404', '409', '412', '415') },
      },
    },
    '/users/{user_id}/password': {
      post: {
        operationId: 'setUserPassword',
        summary: 'Replace a user’s password; every session, grant and token of the user ends',
        tags: ['users'],
        security: requires('users:write'),
        parameters: userIdOnly,
        requestBody: body(ref('UserPassword')),
        responses: { '204': { description: 'Changed' }, ...problems('400', '404', '415') },
      },
    },
    '/users/{user_id}/revoke-sessions': {
      post: {
        operationId: 'revokeUserSessions',
        summary: 'End every session of a user and revoke every grant, with the codes, refresh and access tokens issued under them',
        tags: ['users'],
        security: requires('users:write'),
        parameters: userIdOnly,
        responses: { '204': { description: 'Ended' }, ...problems('404') },
      },
    },
    '/users/{user_id}/reset-mfa': {
      post: {
        operationId: 'resetUserMfa',
        summary: 'Remove every second factor of a user (authenticator app, recovery codes, passkeys), as `latchkey user reset-mfa`',
        tags: ['users'],
        security: requires('users:write'),
        parameters: userIdOnly,
        responses: { '204': { description: 'Removed' }, ...problems('404') },
      },
    },
    '/users/{user_id}/grants': {
      get: {
        operationId: 'listUserGrants',
        summary: 'What each client was allowed by a user, newest first',
        tags: ['users'],
        security: requires('users:read'),
        parameters: userIdOnly,
        responses: {
          '200': json('The user’s grants', { type: 'object', required: ['items'], properties: { items: { type: 'array', items: ref('Grant') } } }),
          ...problems('404'),
        },
      },
    },
  },
};
