// Shared helpers for the PaveWatch browser checks: environment, a headless
// Chromium with a throw-away profile, step bookkeeping, and a hard time bound.
import { chromium } from 'playwright-core';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--hide-scrollbars',
  '--mute-audio',
];

/** Reads the common environment; exits with a clear message when the gateway URL is missing. */
export function readEnv(extra = {}) {
  const gateway = process.env.PAVEWATCH_GATEWAY_URL;
  if (!gateway) {
    console.error('FAIL: PAVEWATCH_GATEWAY_URL is not set (e.g. http://127.0.0.1:8080/)');
    process.exit(2);
  }
  let base;
  try {
    base = new URL(gateway.endsWith('/') || gateway.includes('?') ? gateway : `${gateway}/`);
  } catch {
    console.error(`FAIL: PAVEWATCH_GATEWAY_URL is not a URL: ${gateway}`);
    process.exit(2);
  }
  const artifacts = resolve(process.env.PAVEWATCH_ARTIFACTS_DIR || join(tmpdir(), 'pavewatch-browser-artifacts'));
  mkdirSync(artifacts, { recursive: true });
  const out = {
    base,
    artifacts,
    chromium: process.env.PAVEWATCH_CHROMIUM || '/usr/bin/chromium',
    timeoutMs: positiveInt(process.env.PAVEWATCH_TEST_TIMEOUT_MS, 60_000),
  };
  for (const [k, v] of Object.entries(extra)) out[k] = v;
  return out;
}

export function positiveInt(v, dflt) {
  const n = Number(v);
  return Number.isInteger(n) && n > 0 ? n : dflt;
}

/**
 * Runs `body(t)` with a browser page and prints one line per check and a
 * closing "name: N passed, N failed" line. The first failed check ends the
 * run. The whole run is bounded by env.timeoutMs; the browser is always
 * closed and its profile removed. Exits the process with 0 or 1.
 */
export async function runChecks(name, env, body) {
  const started = Date.now();
  let passed = 0;
  let failed = 0;
  let session = null;
  let finished = false;

  const finish = async (code) => {
    if (finished) return;
    finished = true;
    clearTimeout(watchdog);
    if (session) await session.close();
    console.log(`${name}: ${passed} passed, ${failed} failed (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    process.exit(code);
  };
  const watchdog = setTimeout(() => {
    failed += 1;
    console.log(`FAIL ${name}: did not finish within ${env.timeoutMs / 1000} s`);
    void finish(1);
  }, env.timeoutMs);

  const t = {
    env,
    get page() {
      return session?.page;
    },
    consoleErrors: [],
    /** One named check: logs PASS/FAIL; a failure aborts the run. */
    async check(label, fn) {
      const t0 = Date.now();
      try {
        const note = await fn();
        passed += 1;
        console.log(`PASS ${label}${note ? ` — ${note}` : ''} (${Date.now() - t0} ms)`);
        return note;
      } catch (e) {
        if (finished) throw new CheckFailed(); // the watchdog already ended the run
        failed += 1;
        console.log(`FAIL ${label}: ${e?.message ?? e}`);
        throw new CheckFailed();
      }
    },
    async screenshot(file) {
      const path = join(env.artifacts, file);
      await session.page.screenshot({ path, timeout: 10_000 });
      return path;
    },
  };

  try {
    session = await launch(env, t.consoleErrors);
    await body(t);
    await finish(0);
  } catch (e) {
    if (finished) return;
    if (!(e instanceof CheckFailed)) {
      failed += 1;
      console.log(`FAIL ${name}: ${e?.stack ?? e}`);
    }
    // Leave a picture of the failure behind when there is a page to take it of.
    if (session?.page) {
      try {
        await session.page.screenshot({ path: join(env.artifacts, `${name}-failure.png`), timeout: 5000 });
        console.log(`screenshot of the failure: ${join(env.artifacts, `${name}-failure.png`)}`);
      } catch {
        /* page gone */
      }
    }
    await finish(1);
  }
}

class CheckFailed extends Error {}

async function launch(env, consoleErrors) {
  const profile = mkdtempSync(join(tmpdir(), 'pavewatch-chromium-'));
  let context;
  try {
    // launchPersistentContext takes the profile dir as --user-data-dir.
    context = await chromium.launchPersistentContext(profile, {
      executablePath: env.chromium,
      headless: false, // --headless=new is passed explicitly below
      args: CHROMIUM_ARGS,
      viewport: { width: 1400, height: 900 },
      timeout: 20_000,
    });
  } catch (e) {
    rmSync(profile, { recursive: true, force: true });
    throw new Error(`cannot start Chromium at ${env.chromium}: ${e.message}`);
  }
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(15_000);
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const where = msg.location()?.url ?? '';
    consoleErrors.push(`${msg.text()}${where ? ` [${where}]` : ''}`);
  });
  page.on('pageerror', (err) => consoleErrors.push(`uncaught: ${err.message}`));
  return {
    context,
    page,
    async close() {
      try {
        await Promise.race([context.close(), new Promise((r) => setTimeout(r, 5000))]);
      } finally {
        rmSync(profile, { recursive: true, force: true });
      }
    },
  };
}

/** Console errors that are expected: an absent optional config.json. */
export function unexpectedConsoleErrors(errors) {
  return errors.filter((e) => !/Failed to load resource: the server responded with a status of 404.*config\.json/.test(e));
}

/** Records the subprotocols of the page's WebSocket handshakes (via CDP). */
export async function watchWebSocketProtocols(t) {
  const seen = [];
  const urls = new Map();
  const cdp = await t.page.context().newCDPSession(t.page);
  await cdp.send('Network.enable');
  cdp.on('Network.webSocketCreated', (e) => urls.set(e.requestId, e.url));
  cdp.on('Network.webSocketWillSendHandshakeRequest', (e) => {
    const h = e.request?.headers ?? {};
    const key = Object.keys(h).find((k) => k.toLowerCase() === 'sec-websocket-protocol');
    seen.push({ url: urls.get(e.requestId) ?? '', protocols: key ? String(h[key]) : '' });
  });
  return seen;
}

export async function waitFor(page, label, fn, arg, timeout) {
  try {
    return await page.waitForFunction(fn, arg, { timeout, polling: 200 });
  } catch (e) {
    if (/Timeout/i.test(String(e?.message))) throw new Error(`${label} (waited ${timeout / 1000} s)`);
    throw e;
  }
}

/** A short description of the live indicator, for messages. */
export async function indicatorText(page) {
  try {
    return (await page.locator('[data-testid="live-indicator"]').innerText({ timeout: 2000 })).replace(/\s+/g, ' ').trim();
  } catch {
    return '?';
  }
}
