// Browser check of the contractor view: the page opened with ?token=… draws
// only the contractor's zone.
//   PAVEWATCH_GATEWAY_URL          base URL of the gateway (required)
//   PAVEWATCH_CONTRACTOR_TOKEN     the contractor's token (required)
//   PAVEWATCH_CONTRACTOR_SEGMENTS  comma-separated ids of the zone's segments (required)
//   PAVEWATCH_ARTIFACTS_DIR        where contractor.png goes
// Exit 0 when every check passes, 1 on the first failure, 2 on bad environment.
import { indicatorText, readEnv, runChecks, unexpectedConsoleErrors, waitFor, watchWebSocketProtocols } from './lib.mjs';

const token = process.env.PAVEWATCH_CONTRACTOR_TOKEN ?? '';
const allowed = (process.env.PAVEWATCH_CONTRACTOR_SEGMENTS ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
if (!token || allowed.length === 0) {
  console.error('FAIL: PAVEWATCH_CONTRACTOR_TOKEN and PAVEWATCH_CONTRACTOR_SEGMENTS must both be set');
  process.exit(2);
}
const env = readEnv();
const pageUrl = new URL(env.base);
pageUrl.searchParams.set('token', token);

function outside(ids) {
  const ok = new Set(allowed);
  return ids.filter((id) => !ok.has(id));
}

await runChecks('contractor_test', env, async (t) => {
  const { page } = t;
  const handshakes = await watchWebSocketProtocols(t);
  const restAuth = [];
  page.on('request', (req) => {
    if (new URL(req.url()).pathname.endsWith('/api/v1/segments')) restAuth.push(req.headers().authorization ?? '');
  });

  await t.check('page loads with the contractor token', async () => {
    const res = await page.goto(pageUrl.toString(), { waitUntil: 'domcontentloaded', timeout: 15_000 });
    if (!res?.ok()) throw new Error(`HTTP ${res?.status()}`);
  });

  await t.check('window.pavewatch.ready', async () => {
    await waitFor(page, 'page never became ready', () => window.pavewatch?.ready === true, undefined, 20_000).catch(async (e) => {
      const banner = await page.locator('[data-testid="banner"]').innerText().catch(() => '');
      throw new Error(`${e.message}${banner ? `; banner: ${banner}` : ''}`);
    });
  });

  await t.check('REST calls carry the bearer token', async () => {
    if (restAuth.length === 0) throw new Error('no api/v1/segments request seen');
    const bad = restAuth.filter((a) => a !== `Bearer ${token}`);
    if (bad.length) throw new Error(`api/v1/segments sent Authorization "${bad[0]}"`);
  });

  await t.check('only zone segments are drawn', async () => {
    const ids = await page.evaluate(() => window.pavewatch.drawnSegmentIds());
    if (ids.length === 0) throw new Error('no segments drawn');
    const bad = outside(ids);
    if (bad.length) throw new Error(`${bad.length} of ${ids.length} drawn segments are outside the zone, e.g. ${bad.slice(0, 5).join(', ')}`);
    return `${ids.length} drawn, zone has ${allowed.length}`;
  });

  await t.check('every zone segment is drawn, as api/v1/segments serves them to the contractor', async () => {
    const served = await page.evaluate(async (tok) => {
      const res = await fetch('api/v1/segments', { headers: { Authorization: `Bearer ${tok}` } });
      if (!res.ok) throw new Error(`api/v1/segments: HTTP ${res.status}`);
      return (await res.json()).features.map((f) => String(f.id));
    }, token);
    const drawn = new Set(await page.evaluate(() => window.pavewatch.drawnSegmentIds()));
    const notServed = outside(served);
    if (notServed.length) throw new Error(`the gateway served ${notServed.length} segments outside the zone, e.g. ${notServed.slice(0, 5).join(', ')}`);
    const missing = allowed.filter((id) => !drawn.has(id));
    if (missing.length) throw new Error(`${missing.length} of ${allowed.length} zone segments not drawn, e.g. ${missing.slice(0, 5).join(', ')}`);
    return `${drawn.size} drawn = ${served.length} served = ${allowed.length} in the zone`;
  });

  await t.check('feed is live as contractor, with the token as subprotocol', async () => {
    await waitFor(page, 'no hello from the feed', () => window.pavewatch.connection === 'live' && window.pavewatch.role !== null, undefined, 10_000).catch(
      async (e) => {
        throw new Error(`${e.message}; indicator: ${await indicatorText(page)}`);
      },
    );
    const role = await page.evaluate(() => window.pavewatch.role);
    if (role !== 'contractor') throw new Error(`hello announced role "${role}"`);
    const shown = await page.locator('[data-testid="role"]').innerText();
    if (!/contractor/i.test(shown)) throw new Error(`role badge reads "${shown}"`);
    const hs = handshakes.at(-1);
    const offered = (hs?.protocols ?? '').split(',').map((s) => s.trim());
    if (!offered.includes('pavewatch.v1') || !offered.includes(`bearer.${token}`)) throw new Error(`handshake offered "${hs?.protocols ?? ''}"`);
    return shown;
  });

  await t.check('still only zone segments after live updates', async () => {
    const before = await page.evaluate(() => window.pavewatch.updatesReceived);
    await page.waitForTimeout(3000);
    const { ids, visible, updates } = await page.evaluate(() => ({
      ids: window.pavewatch.drawnSegmentIds(),
      visible: window.pavewatch.visibleSegmentIds(),
      updates: window.pavewatch.updatesReceived,
    }));
    const bad = outside([...ids, ...visible]);
    if (bad.length) throw new Error(`${bad.length} segments outside the zone drawn, e.g. ${bad.slice(0, 5).join(', ')}`);
    return `${updates - before} updates in 3 s`;
  });

  await t.screenshot('contractor.png');

  await t.check('no console errors', async () => {
    const errs = unexpectedConsoleErrors(t.consoleErrors);
    if (errs.length) throw new Error(`${errs.length} console error(s):\n  ${errs.slice(0, 10).join('\n  ')}`);
    return `screenshot in ${env.artifacts}`;
  });
});
