// The OpenAPI part for the users endpoints (filled in by the users routes' author).
import type { OpenApiPart } from './openapi-common.ts';

export const usersPart: OpenApiPart = {
  tags: [],
  paths: {},
  schemas: {},
};
