// Prisma reports a unique-constraint violation as P2002 on both dialects
// (its `meta` differs between them, so only the code is looked at).
export function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'P2002';
}
