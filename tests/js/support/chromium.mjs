// Headless Debian Chromium under playwright-core (Playwright's own browser downloads cannot be
// used on this machine). Each launch gets a fresh profile directory.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
  '--autoplay-policy=no-user-gesture-required',
];

/** CHROMIUM_ARGS with every switch that `extraArgs` sets replaced by the extra one (Chromium would keep the first). */
function withArgs(extraArgs) {
  const name = (a) => a.split('=')[0];
  const own = new Set(extraArgs.map(name));
  return [...CHROMIUM_ARGS.filter((a) => !own.has(name(a))), ...extraArgs];
}

/**
 * Launches headless Chromium with a fresh user-data-dir; close() also removes the profile.
 * `extraArgs` override CHROMIUM_ARGS switch by switch (e.g. another --autoplay-policy).
 */
export async function launchChromium(extraArgs = []) {
  const profile = mkdtempSync(join(tmpdir(), 'livekpi-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: withArgs(extraArgs),
  });
  return {
    newPage: () => context.newPage(),
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Starts headless Chromium itself with a DevTools port on 127.0.0.1 (`--remote-debugging-port=0`,
 * the port read back from the profile's DevToolsActivePort) and attaches with
 * `chromium.connectOverCDP(ws, { noDefaults: true })`. Unlike launchChromium(), Playwright does not
 * emulate focus here, so tabs really go hidden: `hide(page)` opens a second tab and brings it to the
 * front (the first one's `visibilityState` becomes "hidden"), `show(page)` brings `page` back and
 * closes that tab. close() ends the browser (by its own pid) and removes the profile.
 */
export async function launchChromiumCDP(extraArgs = []) {
  const { spawn } = await import('node:child_process');
  const { readFileSync, existsSync } = await import('node:fs');
  const profile = mkdtempSync(join(tmpdir(), 'livekpi-chromium-cdp-'));
  const proc = spawn(CHROMIUM_PATH, [
    ...withArgs(extraArgs),
    '--headless', '--remote-debugging-address=127.0.0.1', '--remote-debugging-port=0',
    `--user-data-dir=${profile}`, 'about:blank',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr = (stderr + d).slice(-4000); });
  const portFile = join(profile, 'DevToolsActivePort');
  const t0 = Date.now();
  while (!existsSync(portFile) || readFileSync(portFile, 'utf8').split('\n').length < 2) {
    if (proc.exitCode != null || Date.now() - t0 > 20_000) {
      proc.kill('SIGKILL');
      throw new Error(`chromium did not open its DevTools port: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const [port, path] = readFileSync(portFile, 'utf8').split('\n');
  const browser = await chromium.connectOverCDP(`ws://127.0.0.1:${port.trim()}${path.trim()}`, { noDefaults: true });
  const context = browser.contexts()[0];
  let cover = null;
  return {
    browser,
    context,
    newPage: () => context.newPage(),
    /** Hides `page` behind a new foreground tab. */
    hide: async () => {
      cover = await context.newPage();
      await cover.bringToFront();
    },
    /** Brings `page` back to the front and closes the covering tab. */
    show: async (page) => {
      await page.bringToFront();
      await cover?.close();
      cover = null;
    },
    close: async () => {
      const exited = new Promise((r) => { if (proc.exitCode != null) r(); else proc.once('exit', r); });
      // A connected browser only disconnects on close(): ask Chromium itself to quit, then wait.
      try {
        const s = await browser.newBrowserCDPSession();
        await s.send('Browser.close').catch(() => {});
      } catch { /* already gone */ }
      await browser.close().catch(() => {});
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
      // Its helper processes can still be flushing the profile for a moment.
      try {
        rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
      } catch { /* a leftover temp dir is not a test failure */ }
    },
  };
}
