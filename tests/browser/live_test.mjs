// Browser check of the live path end to end: a condition record produced to Kafka recolours its
// segment on the page, and the page reconnects and carries on by itself when the gateway restarts.
//   PAVEWATCH_GATEWAY_URL       base URL of the gateway (required)
//   PAVEWATCH_AGENCY_TOKEN      agency token when the gateway has a tokens file (put in ?token=)
//   PAVEWATCH_BROKERS           the stack's Kafka broker(s) (required)
//   PAVEWATCH_CONDITIONS_TOPIC  the stack's conditions topic, e.g. <prefix>.conditions (required)
//   PAVEWATCH_STACK_DIR         the scripts/stack folder, to restart its gateway (required)
//   PAVEWATCH_RECOLOUR_MS       bound on produce → new class on the page (default 2000)
//   PAVEWATCH_ARTIFACTS_DIR     where live-update.png and after-restart.png go
// Run by run_with_stack.sh (browser_live). Exit 0 when every check passes, 1 on the first
// failure, 2 on bad environment.
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { INDEX_OF_CLASS, connectProducer } from './kafka.mjs';
import { indicatorText, positiveInt, readEnv, runChecks, unexpectedConsoleErrors, waitFor, watchWebSocketProtocols } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const token = process.env.PAVEWATCH_AGENCY_TOKEN || '';
const brokers = process.env.PAVEWATCH_BROKERS || '';
const topic = process.env.PAVEWATCH_CONDITIONS_TOPIC || '';
const stackDir = process.env.PAVEWATCH_STACK_DIR || '';
if (!brokers || !topic || !stackDir) {
  console.error('FAIL: PAVEWATCH_BROKERS, PAVEWATCH_CONDITIONS_TOPIC and PAVEWATCH_STACK_DIR must be set (run through run_with_stack.sh)');
  process.exit(2);
}
const env = readEnv({ recolourMs: positiveInt(process.env.PAVEWATCH_RECOLOUR_MS, 2000) });
if (!process.env.PAVEWATCH_TEST_TIMEOUT_MS) env.timeoutMs = 300_000; // the restart re-reads the whole conditions topic
const pageUrl = new URL(env.base);
if (token) pageUrl.searchParams.set('token', token);

/** GET a JSON document of the gateway, as the agency. */
async function api(path) {
  const res = await fetch(new URL(path, env.base), {
    headers: token ? { Authorization: `Bearer ${token}` } : {},
    signal: AbortSignal.timeout(15_000),
  });
  if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status} ${await res.text()}`);
  return res.json();
}

function restartGateway() {
  return new Promise((resolve, reject) => {
    execFile(join(here, 'stackctl.sh'), ['restart-gateway', stackDir], { timeout: 200_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`restart-gateway failed: ${stderr || err.message}`));
      else resolve(stdout.trim());
    });
  });
}

/** Type, seq and from_seq of every feed message the page receives (via CDP). */
async function watchFeedFrames(t) {
  const seen = [];
  const cdp = await t.page.context().newCDPSession(t.page);
  await cdp.send('Network.enable');
  cdp.on('Network.webSocketFrameReceived', (e) => {
    const text = String(e.response?.payloadData ?? '');
    const head = text.slice(0, 200);
    const type = /^\{"type":"([a-z_]+)"/.exec(head)?.[1] ?? '?';
    const seq = /"seq":(\d+)/.exec(head)?.[1];
    const from = /"from_seq":(\d+)/.exec(head)?.[1];
    seen.push({ type, seq: seq != null ? Number(seq) : null, from_seq: from != null ? Number(from) : null });
  });
  return seen;
}

/** Chromium's own console line for a WebSocket that could not connect (expected while the gateway is down). */
const isSocketRefusal = (e) => /WebSocket connection to .* failed/.test(e);

await runChecks('live_test', env, async (t) => {
  const { page } = t;
  const handshakes = await watchWebSocketProtocols(t);
  const frames = await watchFeedFrames(t);
  // Keep a handle on the page's sockets, so that a check can drop one as a network would.
  await page.addInitScript(() => {
    const Native = window.WebSocket;
    window.__pwSockets = [];
    window.WebSocket = class extends Native {
      constructor(...args) {
        super(...args);
        window.__pwSockets.push(this);
      }
    };
  });

  await t.check('page loads and becomes ready', async () => {
    const res = await page.goto(pageUrl.toString(), { waitUntil: 'domcontentloaded', timeout: 15_000 });
    if (!res?.ok()) throw new Error(`HTTP ${res?.status()}`);
    await waitFor(page, 'page never became ready', () => window.pavewatch?.ready === true, undefined, 20_000);
  });

  await t.check('feed live with a snapshot', async () => {
    await waitFor(page, 'feed not live', () => window.pavewatch.connection === 'live' && window.pavewatch.snapshotsReceived > 0, undefined, 15_000).catch(
      async (e) => {
        throw new Error(`${e.message}; indicator: ${await indicatorText(page)}`);
      },
    );
    return `seq ${await page.evaluate(() => window.pavewatch.lastSeq)}`;
  });

  await t.check('the map draws every segment of GET api/v1/segments', async () => {
    const fc = await api('api/v1/segments');
    const rest = fc.features.map((f) => String(f.id));
    const drawn = await page.evaluate(() => window.pavewatch.drawnSegmentIds());
    const set = new Set(drawn);
    const missing = rest.filter((id) => !set.has(id));
    if (drawn.length !== rest.length || missing.length) throw new Error(`${drawn.length} drawn, ${rest.length} served; missing e.g. ${missing.slice(0, 5).join(', ')}`);
    return `${drawn.length} of ${rest.length}`;
  });

  // A segment with data in the middle of the view, and a class it does not have.
  let target = null;
  await t.check(`a condition produced to ${topic} recolours its segment within ${env.recolourMs} ms`, async () => {
    const id = await page.evaluate(() => {
      const pw = window.pavewatch;
      const ids = pw.visibleSegmentIds().filter((s) => pw.classOf(s) !== null && pw.screenPointOf(s)?.inView);
      return ids[Math.floor(ids.length / 2)] ?? null;
    });
    if (!id) throw new Error('no segment with data in view');
    const record = await api(`api/v1/segments/${id}`);
    const was = await page.evaluate((s) => window.pavewatch.classOf(s), id);
    const klass = was === 'failed' ? 'good' : 'failed';
    // The record as the wear processor writes it (pipeline::ConditionToJson): the stored one with
    // a new class, a version well above the current (so that the simulator's next update of this
    // segment cannot overtake it while we measure), and the gateway's own additions removed.
    for (const k of ['name', 'highway', 'length_m', 'freshness_s']) delete record[k];
    for (const h of record.hazards ?? []) {
      delete h.lat;
      delete h.lon;
    }
    record.version = Number(record.version) + 1000;
    record.updated_ms = Math.max(Number(record.updated_ms) + 1, Date.now());
    record.condition_index = INDEX_OF_CLASS[klass];
    record.condition_class = klass;
    const producer = await connectProducer(brokers);
    let elapsed;
    try {
      await page.evaluate(() => {
        window.__pwT0 = performance.now();
      });
      const t0 = Date.now();
      await producer.send(topic, id, record);
      const acked = Date.now() - t0;
      const handle = await page
        .waitForFunction(
          ([s, k]) => (window.pavewatch.classOf(s) === k ? performance.now() - window.__pwT0 : false),
          [id, klass],
          { timeout: env.recolourMs + 3000, polling: 'raf' },
        )
        .catch(async () => {
          throw new Error(`segment ${id} still ${await page.evaluate((s) => window.pavewatch.classOf(s), id)} (not ${klass}) after ${env.recolourMs + 3000} ms`);
        });
      elapsed = await handle.jsonValue();
      if (elapsed > env.recolourMs) throw new Error(`segment ${id} became ${klass} after ${Math.round(elapsed)} ms (bound ${env.recolourMs} ms)`);
      target = { id, klass, was, acked };
    } finally {
      await producer.close();
    }
    const colour = await page.evaluate((s) => window.pavewatch.colourOf(s), id);
    return `segment ${id}: ${was} → ${klass} (${colour}) in ${Math.round(elapsed)} ms (broker ack after ${target.acked} ms)`;
  });

  await page.evaluate((id) => window.pavewatch.select(id), target.id);
  await page.waitForTimeout(500);
  await t.screenshot('live-update.png');
  await page.evaluate(() => window.pavewatch.select(null));

  await t.check('a dropped connection resumes where it left off (no new snapshot, no gap)', async () => {
    const before = await page.evaluate(() => ({ snapshots: window.pavewatch.snapshotsReceived, seq: window.pavewatch.lastSeq }));
    const mark = frames.length;
    await page.evaluate(() => window.__pwSockets.at(-1).close(4000, 'test: connection dropped'));
    // Frames already in flight on the dropped socket still arrive (and the page still reads
    // "live" until its close event), so wait for the new connection's answer itself first.
    const deadline = Date.now() + 15_000;
    const answered = () => frames.slice(mark).some((f) => f.type === 'resumed' || f.type === 'snapshot');
    while (!answered() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await waitFor(
      page,
      'the page did not come back live',
      (b) => window.pavewatch.connection === 'live' && window.pavewatch.lastSeq > b.seq,
      before,
      15_000,
    ).catch(async (e) => {
      throw new Error(`${e.message}; indicator: ${await indicatorText(page)}`);
    });
    const after = frames.slice(mark);
    const resumed = after.find((f) => f.type === 'resumed');
    if (!resumed) throw new Error(`no "resumed" from the gateway; frames after the drop: ${after.slice(0, 5).map((f) => f.type).join(', ')}`);
    if (after.some((f) => f.type === 'snapshot')) throw new Error('the gateway sent a new snapshot instead of resuming');
    const now = await page.evaluate(() => ({ snapshots: window.pavewatch.snapshotsReceived, seq: window.pavewatch.lastSeq }));
    if (now.snapshots !== before.snapshots) throw new Error(`snapshots ${before.snapshots} → ${now.snapshots}`);
    // The first numbered message after "resumed" continues right after the last one processed.
    const first = after.slice(after.indexOf(resumed) + 1).find((f) => f.seq != null);
    if (first && first.seq > resumed.from_seq) throw new Error(`resumed from ${resumed.from_seq} but the first message is seq ${first.seq}`);
    return `resumed from seq ${resumed.from_seq} (page had ${before.seq}), now ${now.seq}`;
  });

  const errorsBefore = t.consoleErrors.length;
  let restartInfo = '';
  await t.check('after a gateway restart the page goes reconnecting → live by itself', async () => {
    // Record every state the live indicator shows, with its time.
    await page.evaluate(() => {
      const el = document.querySelector('[data-testid="live-indicator"]');
      window.__pwStates = [{ state: el.dataset.state, at: Date.now() }];
      new MutationObserver(() => {
        const last = window.__pwStates.at(-1).state;
        if (el.dataset.state !== last) window.__pwStates.push({ state: el.dataset.state, at: Date.now() });
      }).observe(el, { attributes: true, attributeFilter: ['data-state'] });
      window.__pwBefore = { snapshots: window.pavewatch.snapshotsReceived, updates: window.pavewatch.updatesReceived };
    });
    const sockets = handshakes.length;
    const t0 = Date.now();
    const pid = await restartGateway();
    const restartedMs = Date.now() - t0;
    await waitFor(
      page,
      'the page did not go reconnecting → live with a fresh snapshot',
      () => {
        const s = window.__pwStates.map((x) => x.state);
        const r = s.indexOf('reconnecting');
        return r >= 0 && s.indexOf('live', r) > r && window.pavewatch.connection === 'live' && window.pavewatch.snapshotsReceived > window.__pwBefore.snapshots;
      },
      undefined,
      30_000,
    ).catch(async (e) => {
      const states = await page.evaluate(() => window.__pwStates.map((x) => x.state).join(' → '));
      throw new Error(`${e.message}; states ${states}; indicator: ${await indicatorText(page)}`);
    });
    const states = await page.evaluate(() => window.__pwStates.map((x) => x.state).join(' → '));
    restartInfo = `gateway pid ${pid} ready after ${restartedMs} ms; ${handshakes.length - sockets} new socket(s)`;
    return `${states}; ${restartInfo}`;
  });

  await t.check('updates continue after the restart, without reconnecting again', async () => {
    const base = await page.evaluate(() => ({ updates: window.pavewatch.updatesReceived, seq: window.pavewatch.lastSeq }));
    const sockets = handshakes.length;
    await waitFor(page, 'no live update after the restart', (b) => window.pavewatch.updatesReceived > b.updates, base, 20_000).catch(async (e) => {
      throw new Error(`${e.message}; indicator: ${await indicatorText(page)}`);
    });
    await page.waitForTimeout(3000);
    const now = await page.evaluate(() => ({
      updates: window.pavewatch.updatesReceived,
      seq: window.pavewatch.lastSeq,
      state: window.pavewatch.connection,
    }));
    if (now.state !== 'live') throw new Error(`connection is ${now.state}; indicator: ${await indicatorText(page)}`);
    if (handshakes.length !== sockets) throw new Error(`${handshakes.length - sockets} more WebSocket connection(s) while live: the page keeps resynchronising`);
    if (now.seq <= base.seq) throw new Error(`seq did not advance (${base.seq} → ${now.seq})`);
    return `${now.updates - base.updates} updates, seq ${base.seq} → ${now.seq}`;
  });

  await t.check('the produced condition survives the restart (re-read from the topic)', async () => {
    const cls = await page.evaluate((s) => window.pavewatch.classOf(s), target.id);
    if (cls !== target.klass) throw new Error(`segment ${target.id} is ${cls}, expected ${target.klass}`);
    return `segment ${target.id} still ${cls}`;
  });

  await t.screenshot('after-restart.png');

  await t.check('no console errors (refused sockets while the gateway was down excepted)', async () => {
    const errs = unexpectedConsoleErrors(t.consoleErrors.filter((e, i) => !(i >= errorsBefore && isSocketRefusal(e))));
    if (errs.length) throw new Error(`${errs.length} console error(s):\n  ${errs.slice(0, 10).join('\n  ')}`);
    return `screenshots in ${env.artifacts}`;
  });
});
