// ETag and If-Match for the Admin API: single objects carry their version
// as a strong ETag; PATCH and DELETE take If-Match (optional) and pass the
// version it names down to the service, whose update is a compare-and-swap
// in the database. A weak or malformed tag can never match, so it gets 412.
import type { Context } from 'koa';

export function setETag(ctx: Context, version: string): void {
  ctx.set('ETag', `"${version}"`);
}

/**
 * The version If-Match names, or undefined when there is none (or `*`: any
 * current version): the change is then unconditional. One strong tag is
 * expected; anything else yields a version no object has.
 */
export function ifMatchVersion(ctx: Context): string | undefined {
  const header = ctx.get('If-Match').trim();
  if (header === '' || header === '*') return undefined;
  const strong = /^"([\x21\x23-\x7E]*)"$/.exec(header);
  return strong ? strong[1]! : `unmatchable:${header}`;
}
