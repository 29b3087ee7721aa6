import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.ts';
import { MASTER_SECRET_FILE, resolveMasterSecret } from '../../src/keys/master-secret.ts';
import { packageRoot } from '../../src/paths.ts';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'latchkey-secret-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function recorder() {
  const lines: string[] = [];
  return { lines, log: { info: (msg: string) => void lines.push(msg) } };
}

describe('resolveMasterSecret', () => {
  it('returns LATCHKEY_SECRET when set, and touches no file', () => {
    const dataDir = path.join(tempDir(), 'data');
    const { lines, log } = recorder();
    const secret = randomBytes(32).toString('base64url');
    expect(resolveMasterSecret({ masterSecret: secret, dataDir }, log)).toBe(secret);
    expect(() => statSync(dataDir)).toThrow();
    expect(lines).toEqual([]);
  });

  it('generates a 0600 file (creating the directory), logs where but not the secret, then reuses it', () => {
    const dataDir = path.join(tempDir(), 'nested', 'data');
    const first = recorder();
    const secret = resolveMasterSecret({ masterSecret: null, dataDir }, first.log);

    const file = path.join(dataDir, MASTER_SECRET_FILE);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/); // 32 random bytes, base64url (files made before hold 48: also valid)
    expect(readFileSync(file, 'utf8').trim()).toBe(secret);
    expect(first.lines).toHaveLength(1);
    expect(first.lines[0]).toContain(file);
    expect(first.lines[0]).not.toContain(secret);
    expect(readdirSync(dataDir)).toEqual([MASTER_SECRET_FILE]); // no temporary file left behind

    const second = recorder();
    expect(resolveMasterSecret({ masterSecret: null, dataDir }, second.log)).toBe(secret);
    expect(second.lines).toEqual([]);
  });

  it('reads a secret an operator wrote with a trailing newline', () => {
    const dataDir = tempDir();
    const file = path.join(dataDir, MASTER_SECRET_FILE);
    const secret = randomBytes(48).toString('base64url'); // what earlier versions generated
    writeFileSync(file, `${secret}\n`, { mode: 0o600 });
    expect(resolveMasterSecret({ masterSecret: null, dataDir }, recorder().log)).toBe(secret);
  });

  const refused: Array<{ name: string; content: string; mode: number; message: RegExp }> = [
    { name: 'world-readable (0644)', content: 'k'.repeat(64), mode: 0o644, message: /group or others/ },
    { name: 'group-readable (0640)', content: 'k'.repeat(64), mode: 0o640, message: /group or others/ },
    { name: 'group-writable (0620)', content: 'k'.repeat(64), mode: 0o620, message: /group or others/ },
    { name: 'shorter than 32 bytes', content: randomBytes(31).toString('base64url'), mode: 0o600, message: /must hold at least 32 random bytes, hex- or base64-encoded; it encodes only 31; generate one with `latchkey secret generate`/ },
    { name: 'a passphrase', content: 'correct horse battery staple, and more', mode: 0o600, message: /must hold at least 32 random bytes.*a passphrase\?/ },
    { name: 'words', content: 'CorrectHorseBatteryStapleIsMyFavouriteSecret', mode: 0o600, message: /does not look random: it reads like typed text/ },
    { name: 'empty', content: '', mode: 0o600, message: /it is empty/ },
    { name: 'only whitespace', content: ' '.repeat(40), mode: 0o600, message: /it is empty/ },
  ];

  it.each(refused)('refuses a secret file that is $name', ({ content, mode, message }) => {
    const dataDir = tempDir();
    const file = path.join(dataDir, MASTER_SECRET_FILE);
    writeFileSync(file, content);
    chmodSync(file, mode);
    let caught: unknown;
    try {
      resolveMasterSecret({ masterSecret: null, dataDir }, recorder().log);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).code).toBe('config_invalid');
    expect((caught as ConfigError).variable).toBe('LATCHKEY_SECRET');
    expect((caught as ConfigError).message).toMatch(message);
    if (content.trim()) expect((caught as ConfigError).message).not.toContain(content.trim());
    // Refusing never rewrites the operator's file.
    expect(readFileSync(file, 'utf8')).toBe(content);
  });

  it('gives processes racing on first boot the same secret', async () => {
    const modulePath = path.join(packageRoot, 'src/keys/master-secret.ts');
    for (let round = 0; round < 3; round++) {
      const dataDir = path.join(tempDir(), 'data');
      // Each child spins until the same instant, so the creates really collide
      // instead of being spread out by process start-up time.
      const startAt = Date.now() + 1500;
      const script = `
        import { resolveMasterSecret } from ${JSON.stringify(modulePath)};
        while (Date.now() < ${startAt});
        const secret = resolveMasterSecret({ masterSecret: null, dataDir: ${JSON.stringify(dataDir)} }, { info() {} });
        process.stdout.write(secret);
      `;
      const outputs = await Promise.all(Array.from({ length: 4 }, () => runNode(script)));
      expect(new Set(outputs).size).toBe(1);
      expect(outputs[0]).toBe(readFileSync(path.join(dataDir, MASTER_SECRET_FILE), 'utf8').trim());
      expect(readdirSync(dataDir)).toEqual([MASTER_SECRET_FILE]);
    }
  });
});

function runNode(script: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: packageRoot });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`child exited ${code}: ${stderr}`))));
  });
}
