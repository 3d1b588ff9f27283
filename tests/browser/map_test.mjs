// Browser check of the PaveWatch map page against a running gateway.
//   PAVEWATCH_GATEWAY_URL    base URL of the gateway (required), e.g. http://127.0.0.1:8080/
//   PAVEWATCH_ARTIFACTS_DIR  where map.png and panel.png go (default: $TMPDIR/pavewatch-browser-artifacts)
//   PAVEWATCH_MIN_SEGMENTS   minimum segments drawn (default 1000)
// Needs a simulator feeding the gateway so that live updates arrive.
// Exit 0 when every check passes, 1 on the first failure, 2 on bad environment.
import {
  indicatorText,
  positiveInt,
  readEnv,
  runChecks,
  unexpectedConsoleErrors,
  waitFor,
  watchWebSocketProtocols,
} from './lib.mjs';

const env = readEnv({ minSegments: positiveInt(process.env.PAVEWATCH_MIN_SEGMENTS, 1000) });

await runChecks('map_test', env, async (t) => {
  const { page } = t;
  const handshakes = await watchWebSocketProtocols(t);

  await t.check(`page loads from ${env.base}`, async () => {
    const res = await page.goto(env.base.toString(), { waitUntil: 'domcontentloaded', timeout: 15_000 });
    if (!res) throw new Error('no response');
    if (!res.ok()) throw new Error(`HTTP ${res.status()}`);
    return `HTTP ${res.status()}`;
  });

  await t.check('window.pavewatch.ready', async () => {
    await waitFor(page, 'page never became ready', () => window.pavewatch?.ready === true, undefined, 20_000).catch(async (e) => {
      const banner = await page.locator('[data-testid="banner"]').innerText().catch(() => '');
      throw new Error(`${e.message}${banner ? `; banner: ${banner}` : ''}; indicator: ${await indicatorText(page)}`);
    });
  });

  await t.check(`at least ${env.minSegments} segments drawn`, async () => {
    const n = await page.evaluate(() => window.pavewatch.segmentsDrawn);
    if (n < env.minSegments) throw new Error(`only ${n} segments drawn`);
    return `${n} drawn`;
  });

  await t.check('every segment of GET api/v1/segments is drawn', async () => {
    // Asked from the page itself, with the page's token if it has one.
    const served = await page.evaluate(async () => {
      const token = new URLSearchParams(location.search).get('token');
      const res = await fetch('api/v1/segments', { headers: token ? { Authorization: `Bearer ${token}` } : {} });
      if (!res.ok) throw new Error(`api/v1/segments: HTTP ${res.status}`);
      return (await res.json()).features.map((f) => String(f.id));
    });
    const drawn = new Set(await page.evaluate(() => window.pavewatch.drawnSegmentIds()));
    const missing = served.filter((id) => !drawn.has(id));
    if (missing.length || drawn.size !== served.length) {
      throw new Error(`${drawn.size} drawn, ${served.length} served by api/v1/segments; missing e.g. ${missing.slice(0, 5).join(', ')}`);
    }
    return `${drawn.size} drawn = ${served.length} served`;
  });

  await t.check('attribution visible', async () => {
    const attr = page.locator('[data-testid="attribution"]');
    const text = await attr.innerText();
    if (!text.includes('© OpenStreetMap contributors (ODbL)')) throw new Error(`attribution reads "${text}"`);
    if (!(await attr.isVisible())) throw new Error('attribution is hidden');
  });

  await t.check('legend counts add up to the segments drawn', async () => {
    // Counts are refreshed within 250 ms of a change.
    await page.waitForTimeout(400);
    const { sum, drawn } = await page.evaluate(() => {
      const cells = [...document.querySelectorAll('[data-testid="legend"] [data-testid^="legend-count-"]')];
      return { sum: cells.reduce((a, c) => a + Number(c.textContent), 0), drawn: window.pavewatch.segmentsDrawn };
    });
    if (sum !== drawn) throw new Error(`legend counts sum to ${sum}, ${drawn} segments drawn`);
    return `${sum} in legend`;
  });

  await t.check('feed connects and delivers its first message', async () => {
    await waitFor(page, 'feed not live', () => window.pavewatch.connection === 'live' && window.pavewatch.lastSeq > 0, undefined, 10_000).catch(async (e) => {
      throw new Error(`${e.message}; indicator: ${await indicatorText(page)}`);
    });
    const hs = handshakes.at(-1);
    if (!hs) throw new Error('no WebSocket handshake seen');
    if (!hs.protocols.split(',').map((s) => s.trim()).includes('pavewatch.v1')) throw new Error(`handshake offered "${hs.protocols}"`);
    return `seq ${await page.evaluate(() => window.pavewatch.lastSeq)}, ${hs.url}`;
  });

  await t.screenshot('map.png');

  await t.check('hazard markers follow the status filter; candidates hidden until asked for', async () => {
    // The simulated fleet reports candidates within seconds; wait for one to tell the filter's
    // effect apart.
    await waitFor(page, 'no candidate hazard reported', () => (window.pavewatch.hazardCounts().candidate ?? 0) > 0, undefined, 30_000);
    const shownNow = (statuses) =>
      page.evaluate((shown) => {
        const counts = window.pavewatch.hazardCounts();
        return { expected: shown.reduce((a, s) => a + (counts[s] ?? 0), 0), drawn: window.pavewatch.hazardsDrawn, candidates: counts.candidate };
      }, statuses);
    const open = ['confirmed', 'acknowledged', 'repair_reported', 'disputed'];
    const before = await shownNow(open);
    if (before.drawn !== before.expected) throw new Error(`${before.drawn} markers drawn by default, ${before.expected} open confirmed hazards`);
    const box = page.locator('[data-testid="filter-hazard-candidate"]');
    if (await box.isChecked()) throw new Error('the candidate filter is on by default');
    await box.check();
    const after = await shownNow([...open, 'candidate']);
    if (after.drawn !== after.expected) throw new Error(`${after.drawn} markers drawn with candidates on, ${after.expected} hazards of those statuses`);
    await box.uncheck();
    const again = await shownNow(open);
    if (again.drawn !== again.expected) throw new Error(`${again.drawn} markers drawn with candidates off again, ${again.expected} expected`);
    return `${before.drawn} markers by default; ${after.drawn} with ${after.candidates} candidates shown`;
  });

  await t.check('a live update changes the map within 10 s', async () => {
    await page.evaluate(() => {
      const pw = window.pavewatch;
      const ids = pw.drawnSegmentIds ? pw.drawnSegmentIds() : pw.visibleSegmentIds();
      window.__pwBaseline = {
        updates: pw.updatesReceived,
        state: Object.fromEntries(ids.map((id) => [id, `${pw.classOf(id)}|${pw.colourOf(id)}`])),
      };
    });
    const handle = await waitFor(
      page,
      'no segment changed colour or class',
      () => {
        const pw = window.pavewatch;
        const b = window.__pwBaseline;
        if (pw.updatesReceived <= b.updates) return false;
        for (const [id, was] of Object.entries(b.state)) {
          if (`${pw.classOf(id)}|${pw.colourOf(id)}` !== was) return { id, was, now: `${pw.classOf(id)}|${pw.colourOf(id)}`, updates: pw.updatesReceived - b.updates };
        }
        return false;
      },
      undefined,
      10_000,
    ).catch(async (e) => {
      const got = await page.evaluate(() => window.pavewatch.updatesReceived - window.__pwBaseline.updates);
      throw new Error(`${e.message}; ${got} updates received meanwhile; indicator: ${await indicatorText(page)}`);
    });
    const c = await handle.jsonValue();
    return `segment ${c.id}: ${c.was} → ${c.now} after ${c.updates} updates`;
  });

  let clicked = null;
  await t.check('clicking a segment opens the panel with data', async () => {
    // Pick segments whose midpoint is on the map canvas (not under a control or marker).
    const target = await page.evaluate(() => {
      const pw = window.pavewatch;
      const ids = pw.visibleSegmentIds();
      const step = Math.max(1, Math.floor(ids.length / 60));
      for (let i = Math.floor(ids.length / 2) % step; i < ids.length; i += step) {
        const p = pw.screenPointOf(ids[i]);
        if (!p || !p.inView) continue;
        const hit = document.elementFromPoint(p.x, p.y);
        if (hit && hit.tagName === 'CANVAS' && hit.closest('[data-testid="map"]')) return { id: ids[i], x: p.x, y: p.y };
      }
      return null;
    });
    if (!target) throw new Error('no segment midpoint is clickable on the map');
    clicked = target.id;
    await page.mouse.click(target.x, target.y);
    const panel = page.locator('[data-testid="segment-panel"]');
    await waitFor(
      page,
      'panel did not open with loaded data',
      () => document.querySelector('[data-testid="segment-panel"]')?.dataset.state === 'loaded',
      undefined,
      10_000,
    ).catch(async (e) => {
      const state = await panel.getAttribute('data-state').catch(() => null);
      const err = await page.locator('[data-testid="panel-error"]').innerText({ timeout: 1000 }).catch(() => '');
      throw new Error(`${e.message} (state ${state}${err ? `: ${err}` : ''})`);
    });
    if (!(await panel.isVisible())) throw new Error('panel is not visible');
    const shownId = await panel.getAttribute('data-segment-id');
    const title = (await page.locator('[data-testid="panel-title"]').innerText()).trim();
    const cls = await page.locator('[data-testid="panel-class"]').getAttribute('data-class');
    const sections = await page.locator('[data-testid="panel-roughness"], [data-testid="panel-structural"], [data-testid="trend-chart"]').count();
    const points = Number(await page.locator('[data-testid="trend-chart"]').getAttribute('data-points'));
    if (!title) throw new Error('panel has no title');
    if (sections < 3) throw new Error('panel lacks the roughness, structure or trend sections');
    const same = shownId === clicked ? '' : ` (clicked ${clicked}; another segment lies on top there)`;
    return `segment ${shownId} "${title}", class ${cls}, ${points} history points${same}`;
  });

  await t.screenshot('panel.png');

  await t.check('no console errors', async () => {
    const errs = unexpectedConsoleErrors(t.consoleErrors);
    if (errs.length) throw new Error(`${errs.length} console error(s):\n  ${errs.slice(0, 10).join('\n  ')}`);
    return `screenshots in ${env.artifacts}`;
  });
});
