// The OpenAPI part for the audit endpoints (filled in by the audit routes' author).
import type { OpenApiPart } from './openapi-common.ts';

export const auditPart: OpenApiPart = {
  tags: [],
  paths: {},
  schemas: {},
};
