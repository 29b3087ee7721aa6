// The demo's own settings, read once from the environment (only demo/main.ts
// passes process.env in). Latchkey's settings keep their usual variables;
// the demo only changes two defaults: a data dir of its own and quieter logs.
import path from 'node:path';

export interface DemoSettings {
  /** Host name used in every URL the browser sees. */
  readonly host: string;
  readonly appPort: number;
  readonly apiPort: number;
  /** The environment Latchkey's loadConfig reads, with the demo's defaults filled in. */
  readonly latchkeyEnv: Readonly<Record<string, string | undefined>>;
  /** The demo user's password: DEMO_PASSWORD, or a fresh one each start. */
  readonly password: string | undefined;
}

type Env = Readonly<Record<string, string | undefined>>;

export const DEMO_EMAIL = 'demo@example.com';
export const DEMO_API_IDENTIFIER = 'https://api.demo.example';
export const DEMO_API_SCOPE = 'demo:read';
export const DEMO_CLIENT_NAME = 'Latchkey demo app';

export function loadDemoSettings(env: Env, cwd: string = process.cwd()): DemoSettings {
  const host = env.DEMO_HOST?.trim() || 'localhost';
  const port = parsePort(env, 'PORT', 3000);
  return Object.freeze({
    host,
    appPort: parsePort(env, 'DEMO_APP_PORT', 4000),
    apiPort: parsePort(env, 'DEMO_API_PORT', 4001),
    password: env.DEMO_PASSWORD || undefined,
    latchkeyEnv: Object.freeze({
      ...env,
      PORT: String(port),
      ISSUER: env.ISSUER?.trim() || `http://${host}:${port}`,
      LATCHKEY_DATA_DIR: env.LATCHKEY_DATA_DIR?.trim() || path.join(cwd, 'data', 'demo'),
      LOG_LEVEL: env.LOG_LEVEL?.trim() || 'warn',
    }),
  });
}

function parsePort(env: Env, name: string, fallback: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 65535) throw new Error(`${name}: "${raw}" is not a port number`);
  return value;
}
