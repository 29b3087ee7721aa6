// Reads a request's form body without taking it away from oidc-provider,
// which parses the body itself, later, from the same stream (and only warns
// and falls back when something upstream has consumed it). The bytes are read
// while they arrive and pushed back with readable.unshift() in the same tick
// the last of them was read, before the stream can emit 'end', so the stream
// then yields exactly the bytes it would have yielded untouched.
import type { IncomingMessage } from 'node:http';

/** oidc-provider's own body limit (lib/shared/selective_body.js): a bigger body is refused there anyway. */
export const FORM_PEEK_LIMIT = 56 * 1024;

/** The form fields, or undefined when the body is over `limit` bytes or the request went away. */
export function peekForm(req: IncomingMessage, limit: number = FORM_PEEK_LIMIT): Promise<URLSearchParams | undefined> {
  if (Number(req.headers['content-length']) > limit) return Promise.resolve(undefined);
  // Watching an empty body can end the stream, and oidc-provider reads only a
  // stream that has not ended (else it warns once and falls back to an empty
  // body). With Content-Length: 0 the stream is left alone; a chunked empty
  // body, which nothing sends in practice, takes that fallback.
  if (req.headers['content-length'] === '0' || isDrained(req)) return Promise.resolve(new URLSearchParams());
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (form: URLSearchParams | undefined) => {
      req.off('readable', onReadable);
      req.off('error', onGone);
      req.off('close', onGone);
      resolve(form);
    };
    const giveBack = () => {
      if (size > 0) req.unshift(Buffer.concat(chunks, size));
    };
    const onGone = () => finish(undefined);
    const onReadable = () => {
      if (size === 0 && isDrained(req)) return finish(new URLSearchParams());
      let chunk: Buffer | null;
      while ((chunk = req.read() as Buffer | null) !== null) {
        chunks.push(chunk);
        size += chunk.length;
        if (size > limit) {
          giveBack();
          return finish(undefined);
        }
      }
      // `complete`: the whole message has arrived (and has just been read).
      if (req.complete) {
        giveBack();
        finish(new URLSearchParams(Buffer.concat(chunks, size).toString('utf8')));
      }
    };
    req.on('readable', onReadable);
    req.on('error', onGone);
    req.on('close', onGone);
  });
}

/** The whole message has arrived and nothing of it is left to read. */
function isDrained(req: IncomingMessage): boolean {
  return req.complete && req.readableLength === 0;
}
