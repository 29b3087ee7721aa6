// Serves the one stylesheet the pages use. The file is read once at start.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Middleware } from 'koa';
import { viewsDir } from '../paths.ts';

export function staticAssets(): Middleware {
  const css = readFileSync(path.join(viewsDir, 'static', 'latchkey.css'));
  // Not async: a request for anything else passes on without a promise of its own.
  return (ctx, next) => {
    if (ctx.path !== '/static/latchkey.css' || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) return next();
    ctx.type = 'text/css; charset=utf-8';
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = css;
    return undefined;
  };
}
