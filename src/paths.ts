// Locates files shipped with the package (migrations, views, static assets)
// whether Latchkey runs from src/ through tsx or from a compiled dist/.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findPackageRoot(start: string): string {
  let dir = start;
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${start}`);
    dir = parent;
  }
  return dir;
}

export const packageRoot = findPackageRoot(path.dirname(fileURLToPath(import.meta.url)));
export const migrationsDir = (dialect: 'sqlite' | 'postgres') => path.join(packageRoot, 'prisma', dialect, 'migrations');
export const viewsDir = path.join(packageRoot, 'views');
