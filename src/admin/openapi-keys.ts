// The OpenAPI part for the keys endpoints (filled in by the keys routes' author).
import type { OpenApiPart } from './openapi-common.ts';

export const keysPart: OpenApiPart = {
  tags: [],
  paths: {},
  schemas: {},
};
