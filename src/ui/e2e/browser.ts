/**
 * ui/e2e/browser — Debian's Chromium driven by playwright-core, headless, for the web UI's
 * end-to-end tests and bench/ui.ts. Not used by Kiln itself.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Why the browser tests cannot run here, or false when they can. */
export const SKIP_WITHOUT_CHROMIUM: string | false = existsSync(CHROMIUM) ? false : `${CHROMIUM} not installed (bash scripts/setup-system.sh)`;

/** `extraArgs`: more Chromium switches, e.g. `--host-resolver-rules=MAP name 127.0.0.1`. */
export function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_FLAGS, ...extraArgs] });
}

/** A 1400x900 page whose console errors and uncaught page errors are collected into `errors`. */
export async function openWatchedPage(browser: Browser, errors: string[], options: BrowserContextOptions = {}): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 }, ...options });
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  return page;
}
