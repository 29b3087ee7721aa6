// Prisma reports a write to a row that does not exist (an update or delete
// by a unique key that matched nothing) as P2025 on both dialects.
export function isRecordMissing(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'P2025';
}
