// The tagged template for raw statements run through Prisma's own connection
// (`prisma.$queryRaw` / `$executeRaw`), and the pieces to compose one: values
// are always bound as parameters, never spliced into the text. Re-exported
// from Prisma's runtime, not from either dialect's generated client, so that
// neither client is loaded for the other dialect's sake.
export { empty, join, sqltag as sql } from '@prisma/client/runtime/client';
