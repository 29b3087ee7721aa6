// Log redaction: whatever shape a line has, a value under a secret-named key
// never reaches the output, and everything else does, unchanged.
import { describe, expect, it } from 'vitest';
import { CENSOR, createLog } from '../../src/log.ts';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const log = createLog({ logLevel: 'trace' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { log, lines };
}

const SECRET = 'hunter2-do-not-log';

describe('log redaction', () => {
  it('censors secret keys at the top level and inside nested objects, keeps the rest', () => {
    const { log, lines } = capture();
    log.info({ password: SECRET, client_secret: SECRET, user: 'ada', nested: { access_token: SECRET, refresh_token: SECRET, kept: 1 } }, 'm');
    expect(lines[0]).toMatchObject({ password: CENSOR, client_secret: CENSOR, user: 'ada', nested: { access_token: CENSOR, refresh_token: CENSOR, kept: 1 }, msg: 'm' });
  });

  it('censors credential headers of a logged request and response', () => {
    const { log, lines } = capture();
    log.info({ req: { method: 'POST', headers: { authorization: `Basic ${SECRET}`, cookie: SECRET, 'content-type': 'x' } }, res: { headers: { 'set-cookie': [SECRET] } } });
    expect(lines[0]).toMatchObject({
      req: { method: 'POST', headers: { authorization: CENSOR, cookie: CENSOR, 'content-type': 'x' } },
      res: { headers: { 'set-cookie': CENSOR } },
    });
  });

  it('censors inside arrays and on properties of errors, keeping the error readable', () => {
    const { log, lines } = capture();
    const error = Object.assign(new Error('boom'), { token: SECRET });
    log.error({ err: error, items: [{ id_token: SECRET }, 'plain'] }, 'failed');
    expect(lines[0]).toMatchObject({ err: { message: 'boom', token: CENSOR, type: 'Error' }, items: [{ id_token: CENSOR }, 'plain'] });
    expect(String((lines[0]!.err as { stack: string }).stack)).toContain('boom');
  });

  it('censors secret keys of child bindings, and never changes the object that was logged', () => {
    const { log, lines } = capture();
    const fields = { secret: SECRET, deep: { code_verifier: SECRET } };
    log.child({ clientSecret: SECRET, requestId: 'r1' }).info(fields, 'x');
    expect(lines[0]).toMatchObject({ clientSecret: CENSOR, requestId: 'r1', secret: CENSOR, deep: { code_verifier: CENSOR } });
    expect(fields).toEqual({ secret: SECRET, deep: { code_verifier: SECRET } });
    expect(JSON.stringify(lines)).not.toContain(SECRET);
  });

  it('censors whatever a secret key holds, null included; an absent one stays absent', () => {
    const { log, lines } = capture();
    log.info({ token: null, nested: { secret: null }, password: undefined, n: 0 });
    expect(lines[0]).toMatchObject({ token: CENSOR, nested: { secret: CENSOR }, n: 0 });
    expect(lines[0]).not.toHaveProperty('password');
  });
});
