// Server-rendered pages. Templates live in views/ and hold markup only; Eta
// escapes every `<%= %>` value, so no user or client input reaches a page raw.
import { Eta } from 'eta';
import { viewsDir } from '../paths.ts';

export interface PageData {
  readonly title: string;
  readonly [key: string]: unknown;
}

export function createViews(options: { cache?: boolean } = {}) {
  const eta = new Eta({ views: viewsDir, autoEscape: true, autoTrim: false, cache: options.cache ?? true });
  return {
    /** Renders views/<name>.eta inside views/layout.eta. */
    render(name: string, data: PageData): string {
      return eta.render(name, data);
    },
  };
}

export type Views = ReturnType<typeof createViews>;
