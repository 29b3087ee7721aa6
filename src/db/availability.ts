// Tells a lost or refused database connection apart from every other error,
// so callers can answer 503 (try again shortly) instead of 500 (our bug).
// Prisma wraps driver errors; the driver's own code sits in
// meta.driverAdapterError.cause. The prepared statements on PostgreSQL
// (postgres-statements.ts) get pg's errors unwrapped: SQLSTATE in `code`.

/** Prisma error codes that mean the database could not be reached or timed out. */
const PRISMA_UNAVAILABLE = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);

/** Driver-adapter error kinds that mean the connection, not the query, failed. */
const ADAPTER_UNAVAILABLE = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections', 'DatabaseDoesNotExist']);

/** PostgreSQL SQLSTATEs: connection exceptions (08…), shutdowns (57P0…), too many connections. */
function isPostgresUnavailable(code: string): boolean {
  return code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === '53300';
}

/** Node socket errors, when a raw driver error escapes unwrapped. */
const SOCKET_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND']);

export function isDatabaseUnavailable(error: unknown, depth = 0): boolean {
  if (!error || typeof error !== 'object' || depth > 4) return false;
  const { code, meta, cause } = error as { code?: unknown; meta?: { driverAdapterError?: { cause?: { kind?: string; code?: string; originalCode?: string } } }; cause?: unknown };
  if (typeof code === 'string' && (PRISMA_UNAVAILABLE.has(code) || SOCKET_ERRORS.has(code) || isPostgresUnavailable(code))) return true;
  const adapterCause = meta?.driverAdapterError?.cause;
  if (adapterCause) {
    if (adapterCause.kind && ADAPTER_UNAVAILABLE.has(adapterCause.kind)) return true;
    const sqlState = adapterCause.originalCode ?? adapterCause.code;
    if (adapterCause.kind === 'postgres' && typeof sqlState === 'string' && isPostgresUnavailable(sqlState)) return true;
  }
  if (error instanceof Error && /Connection terminated|connection timeout|timeout exceeded when trying to connect|Can't reach database server/i.test(error.message)) return true;
  return isDatabaseUnavailable(cause, depth + 1);
}
