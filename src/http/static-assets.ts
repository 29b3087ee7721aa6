// Serves the files the pages use: the stylesheet, and the passkey script
// (the login and account pages' WebAuthn buttons; loaded as a same-origin
// file because the pages allow no inline script). Each is read once at start.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Middleware } from 'koa';
import { viewsDir } from '../paths.ts';

/** URL path → media type; the file is views/static/<the path's last part>. */
const ASSETS: Readonly<Record<string, string>> = {
  '/static/latchkey.css': 'text/css; charset=utf-8',
  '/static/passkey.js': 'text/javascript; charset=utf-8',
};

export function staticAssets(): Middleware {
  const assets = new Map(Object.entries(ASSETS).map(([urlPath, type]) => [urlPath, { type, body: readFileSync(path.join(viewsDir, 'static', path.basename(urlPath))) }]));
  // Not async: a request for anything else passes on without a promise of its own.
  return (ctx, next) => {
    const asset = ctx.method === 'GET' || ctx.method === 'HEAD' ? assets.get(ctx.path) : undefined;
    if (!asset) return next();
    ctx.type = asset.type;
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = asset.body;
    return undefined;
  };
}
