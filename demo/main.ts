// `npm run demo`: Latchkey (embedded SQLite in data/demo unless DATABASE_URL
// says otherwise), the demo API guarded by @latchkey/verify, and the demo web
// app with its "Login with Latchkey" button, all on this machine.
import http from 'node:http';
import { createVerifier } from '@latchkey/verify';
import { loadConfig } from '../src/config/config.ts';
import { openDatabase } from '../src/db/database.ts';
import { createLog } from '../src/log.ts';
import { startLatchkey } from '../src/server.ts';
import { createServices } from '../src/services.ts';
import { createDemoApi } from './api.ts';
import { provisionDemo } from './provision.ts';
import { DEMO_API_IDENTIFIER, DEMO_API_SCOPE, loadDemoSettings } from './settings.ts';
import { createDemoWebApp } from './web-app.ts';

const settings = loadDemoSettings(process.env);
const config = loadConfig({ HOST: '127.0.0.1', ...settings.latchkeyEnv });
const log = createLog(config);
const latchkey = await startLatchkey({ config, log, drainMs: 2000 });

const appUrl = `http://${settings.host}:${settings.appPort}`;
const apiUrl = `http://${settings.host}:${settings.apiPort}`;

const db = await openDatabase(config.database);
let registration: Awaited<ReturnType<typeof provisionDemo>>;
try {
  registration = await provisionDemo(createServices({ config, db }), { appUrl, password: settings.password });
} finally {
  await db.close();
}

const verifier = createVerifier({ issuer: config.issuer, audience: DEMO_API_IDENTIFIER });
await verifier.preload();
const api = await listen(createDemoApi({ verifier }), settings.apiPort);
const webApp = await listen(
  await createDemoWebApp({
    issuer: config.issuer,
    clientId: registration.clientId,
    clientSecret: registration.clientSecret,
    appUrl,
    apiUrl: `${apiUrl}/hello`,
    resource: DEMO_API_IDENTIFIER,
    scope: `openid profile email ${DEMO_API_SCOPE}`,
  }),
  settings.appPort,
);

process.stdout.write(
  [
    '',
    'Latchkey demo is running:',
    `  Latchkey (issuer)  ${config.issuer}`,
    `  Demo API           ${apiUrl}/hello   (needs an access token with ${DEMO_API_SCOPE})`,
    `  Demo web app       ${appUrl}   <- open this and press "Login with Latchkey"`,
    `  Sign in as         ${registration.email}  password: ${registration.password}`,
    'Press Ctrl+C to stop.',
    '',
  ].join('\n'),
);

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await Promise.all([close(webApp), close(api)]);
  await latchkey.stop();
  process.stdout.write('Demo stopped.\n');
  process.exit(0);
}
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());

async function listen(app: { callback(): http.RequestListener }, port: number): Promise<http.Server> {
  const server = http.createServer(app.callback());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, config.host, () => resolve());
  });
  return server;
}

function close(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
