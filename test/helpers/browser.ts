// Launches the Chromium the browser tests drive: Debian's (apt-get install
// chromium; Playwright cannot download its own here), else one Playwright
// installed itself. Headless, no sandbox (CI runs as root), and nothing that
// phones home, so runs are quiet and deterministic.
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

const SYSTEM_CHROMIUM = '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launchChromium(): Promise<Browser> {
  const executablePath = existsSync(SYSTEM_CHROMIUM) ? SYSTEM_CHROMIUM : undefined;
  return chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS }).catch((error: unknown) => {
    throw new Error(`cannot start Chromium (install it with \`apt-get install -y chromium\`): ${(error as Error).message}`);
  });
}

/** The viewports every page must look right on. */
export const VIEWPORTS = {
  phone: { width: 390, height: 844 },
  desktop: { width: 1280, height: 800 },
} as const;

/**
 * Makes `page` fail fast (a blocked navigation shows up as a wait that never
 * ends: fail well inside the test timeout) and records what no page may
 * produce: console errors, Content Security Policy violations and uncaught
 * page errors. Returns the list it fills, for `expect(problems).toEqual([])`.
 */
export function watchPage(page: Page): string[] {
  page.setDefaultTimeout(10_000);
  const problems: string[] = [];
  page.on('console', (message) => {
    // Chromium asks every origin for a favicon; none serves one.
    if (message.location().url.endsWith('/favicon.ico')) return;
    if (message.type() === 'error' || /Content Security Policy/i.test(message.text())) problems.push(`${message.text()} (${message.location().url})`);
  });
  page.on('pageerror', (error) => problems.push(error.message));
  return problems;
}
