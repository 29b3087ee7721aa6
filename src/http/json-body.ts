// Reads the body of a JSON request from Latchkey's own page script
// (views/static/passkey.js): application/json only, and bounded, so a
// request cannot make the server buffer megabytes. A body that is not JSON
// reads as undefined: the caller answers it like any malformed input.
import type { Context } from 'koa';

/** Far above a WebAuthn answer (an attestation with a certificate chain is a few kB). */
const MAX_JSON_BYTES = 64 * 1024;

export async function readJson(ctx: Context): Promise<unknown> {
  if (!ctx.request.is('application/json')) ctx.throw(415, 'This endpoint accepts only JSON.');
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > MAX_JSON_BYTES) ctx.throw(413, 'The request is too large.');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_JSON_BYTES) ctx.throw(413, 'The request is too large.');
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}
