import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { consoleDir } from '@screengraph/console';
import { type Browser, chromium, type Page } from 'playwright-core';

/** Debian's Chromium (`apt-get install chromium`, done by .ci/run), or CHROMIUM_PATH. */
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Why the browser tests cannot run here, or false. */
export function skipWithoutBrowser(): string | false {
  if (!existsSync(chromiumPath))
    return `no Chromium at ${chromiumPath} (apt-get install chromium, or set CHROMIUM_PATH)`;
  if (!existsSync(`${consoleDir}/index.html`))
    return 'the console is not built: pnpm --filter @screengraph/console build';
  return false;
}

/** Where the tests leave their screenshots: kept by CI as the run's artifacts. */
export const SCREENSHOTS = fileURLToPath(new URL('../../../test-results/console/', import.meta.url));

interface TestContext {
  teardown(fn: () => unknown): void;
  comment(...message: unknown[]): void;
}

/**
 * Headless Chromium as this machine can run it: no sandbox (root), no GPU, and none of the
 * background connections a closed network refuses.
 */
export async function launchBrowser(t: TestContext): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
  t.teardown(() => browser.close());
  return browser;
}

/** A page of a laptop's size that fails the test on any error the console throws or logs. */
export async function openPage(browser: Browser, errors: string[]): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console error: ${message.text()}`);
  });
  page.on('response', (response) => {
    if (response.status() >= 400) errors.push(`${response.status()} ${response.url()}`);
  });
  return page;
}

export async function screenshot(t: TestContext, page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOTS, { recursive: true });
  const path = `${SCREENSHOTS}${name}.png`;
  await page.screenshot({ path, fullPage: true });
  t.comment(`screenshot: ${path}`);
}

/** What the console leaves on `window` for these tests (graph-view.tsx). */
export type ConsoleWindow = { __screengraph?: { cy: import('cytoscape').Core } };
export type ImageElement = { naturalWidth: number };

/** Waits until `check` holds, polling; fails naming `what` after `timeoutMs`. */
export async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
