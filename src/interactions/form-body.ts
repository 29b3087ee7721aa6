// Reads the body of an interaction form: application/x-www-form-urlencoded
// only (what an HTML form sends), and bounded, so a request cannot make the
// server buffer megabytes before the password check even starts.
import type { Context } from 'koa';

/** Far above any honest login or consent form (the password itself is capped at 1024 characters). */
const MAX_FORM_BYTES = 16 * 1024;

export async function readForm(ctx: Context): Promise<URLSearchParams> {
  if (!ctx.request.is('application/x-www-form-urlencoded')) {
    ctx.throw(415, 'This page accepts only form submissions.');
  }
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > MAX_FORM_BYTES) ctx.throw(413, 'The form submission is too large.');

  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) ctx.throw(413, 'The form submission is too large.');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}
