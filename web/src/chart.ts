// Hand-written SVG trend chart: condition index (left axis, 0–100, over the
// PCI class bands) and IRI (right axis) over up to 90 days of history.
import { CLASS_COLOURS, CLASS_RANGES } from './palette';
import { fmtDay, fmtNum } from './format';
import type { HistoryPoint } from './types';
import { CONDITION_CLASSES } from './types';

const NS = 'http://www.w3.org/2000/svg';
const W = 340;
const H = 190;
const M = { l: 32, r: 36, t: 18, b: 34 };
const CI_COLOUR = '#111827';
const IRI_COLOUR = '#7a3e9d';

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}): SVGElementTagNameMap[K] {
  const n = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
  return n;
}

function text(x: number, y: number, s: string, anchor: 'start' | 'middle' | 'end', cls = 'axis'): SVGTextElement {
  const t = svg('text', { x, y, 'text-anchor': anchor, class: cls });
  t.textContent = s;
  return t;
}

function dayMs(day: string): number {
  const t = Date.parse(`${day}T00:00:00Z`);
  return Number.isFinite(t) ? t : NaN;
}

/** A "nice" upper bound for an axis (1, 2, 2.5, 5 × 10^n). */
export function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** Path through the points with gaps where a value is null. */
function linePath(xs: number[], ys: Array<number | null>): string {
  let d = '';
  let pen = false;
  for (let i = 0; i < xs.length; i++) {
    const y = ys[i];
    if (y == null) {
      pen = false;
      continue;
    }
    d += `${pen ? 'L' : 'M'}${xs[i].toFixed(1)} ${y.toFixed(1)}`;
    pen = true;
  }
  return d;
}

export function renderTrendChart(history: HistoryPoint[] | null | undefined): HTMLElement {
  const wrap = document.createElement('figure');
  wrap.className = 'chart';
  wrap.setAttribute('data-testid', 'trend-chart');
  const pts = (history ?? [])
    .filter((p) => p && typeof p.day === 'string' && Number.isFinite(dayMs(p.day)))
    .sort((a, b) => dayMs(a.day) - dayMs(b.day));
  wrap.setAttribute('data-points', String(pts.length));
  const caption = document.createElement('figcaption');
  caption.innerHTML =
    `<span class="key"><i style="background:${CI_COLOUR}"></i>Condition index</span>` +
    `<span class="key"><i class="dashed" style="border-color:${IRI_COLOUR}"></i>IRI (m/km)</span>`;
  if (pts.length === 0) {
    const empty = document.createElement('p');
    empty.className = 'muted';
    empty.textContent = 'No history yet.';
    wrap.append(empty);
    return wrap;
  }

  const t0 = dayMs(pts[0].day);
  const t1 = Math.max(dayMs(pts[pts.length - 1].day), t0 + 86_400_000);
  const iriVals = pts.map((p) => p.iri_m_per_km).filter((v): v is number => v != null && Number.isFinite(v));
  const iriStep = niceMax(Math.max(4, ...iriVals) / 5);
  const iriMax = Math.ceil(Math.max(4, ...iriVals) / iriStep) * iriStep;
  const pw = W - M.l - M.r;
  const ph = H - M.t - M.b;
  const x = (t: number) => M.l + ((t - t0) / (t1 - t0)) * pw;
  const yCi = (v: number) => M.t + (1 - v / 100) * ph;
  const yIri = (v: number) => M.t + (1 - v / iriMax) * ph;

  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, width: '100%', role: 'img' });
  const title = svg('title');
  title.textContent = `Condition index and IRI over ${pts.length} days`;
  root.append(title);

  // PCI class bands behind the plot.
  for (const cls of CONDITION_CLASSES) {
    const [lo, hi] = CLASS_RANGES[cls];
    const top = yCi(Math.min(100, hi + (hi === 100 ? 0 : 0.5)));
    const bottom = yCi(Math.max(0, lo - (lo === 0 ? 0 : 0.5)));
    root.append(svg('rect', { x: M.l, y: top, width: pw, height: bottom - top, fill: CLASS_COLOURS[cls], opacity: 0.14 }));
  }
  // Axes and ticks.
  for (const v of [0, 25, 50, 75, 100]) {
    root.append(svg('line', { x1: M.l, x2: M.l + pw, y1: yCi(v), y2: yCi(v), class: 'grid' }));
    root.append(text(M.l - 4, yCi(v) + 3, String(v), 'end'));
  }
  for (let i = 0; i * iriStep <= iriMax + 1e-9; i++) {
    const v = i * iriStep;
    root.append(text(M.l + pw + 4, yIri(v) + 3, fmtNum(v, Number.isInteger(v) ? 0 : 1), 'start'));
  }
  const nTicks = Math.min(4, pts.length);
  for (let i = 0; i < nTicks; i++) {
    const p = pts[Math.round((i * (pts.length - 1)) / Math.max(1, nTicks - 1))];
    const px = x(dayMs(p.day));
    root.append(text(px, H - M.b + 13, fmtDay(p.day), i === 0 ? 'start' : i === nTicks - 1 ? 'end' : 'middle'));
  }
  root.append(text(M.l - 4, M.t - 8, 'PCI', 'end', 'axis unit'));
  root.append(text(M.l + pw + 4, M.t - 8, 'IRI', 'start', 'axis unit'));
  root.append(svg('rect', { x: M.l, y: M.t, width: pw, height: ph, class: 'frame' }));

  // Series.
  const xs = pts.map((p) => x(dayMs(p.day)));
  const ciYs = pts.map((p) => (p.condition_index != null && Number.isFinite(p.condition_index) ? yCi(clamp(p.condition_index, 0, 100)) : null));
  const iriYs = pts.map((p) => (p.iri_m_per_km != null && Number.isFinite(p.iri_m_per_km) ? yIri(clamp(p.iri_m_per_km, 0, iriMax)) : null));
  root.append(svg('path', { d: linePath(xs, iriYs), fill: 'none', stroke: IRI_COLOUR, 'stroke-width': 1.8, 'stroke-dasharray': '5 3', class: 'series-iri' }));
  root.append(svg('path', { d: linePath(xs, ciYs), fill: 'none', stroke: CI_COLOUR, 'stroke-width': 2, class: 'series-ci' }));
  if (pts.length === 1) {
    if (ciYs[0] != null) root.append(svg('circle', { cx: xs[0], cy: ciYs[0], r: 3, fill: CI_COLOUR }));
    if (iriYs[0] != null) root.append(svg('circle', { cx: xs[0], cy: iriYs[0], r: 3, fill: IRI_COLOUR }));
  }

  // Hover read-out.
  const cursor = svg('line', { y1: M.t, y2: M.t + ph, class: 'cursor', visibility: 'hidden' });
  const readout = text(M.l + pw / 2, H - 4, '', 'middle', 'readout');
  const hit = svg('rect', { x: M.l, y: M.t, width: pw, height: ph, fill: 'transparent' });
  hit.addEventListener('mousemove', (ev: MouseEvent) => {
    const box = root.getBoundingClientRect();
    const mx = ((ev.clientX - box.left) / box.width) * W;
    let best = 0;
    for (let i = 1; i < xs.length; i++) if (Math.abs(xs[i] - mx) < Math.abs(xs[best] - mx)) best = i;
    const p = pts[best];
    cursor.setAttribute('x1', String(xs[best]));
    cursor.setAttribute('x2', String(xs[best]));
    cursor.setAttribute('visibility', 'visible');
    readout.textContent = `${p.day} · PCI ${fmtNum(p.condition_index, 1)} · IRI ${fmtNum(p.iri_m_per_km, 2)} m/km`;
  });
  hit.addEventListener('mouseleave', () => {
    cursor.setAttribute('visibility', 'hidden');
    readout.textContent = '';
  });
  root.append(cursor, readout, hit);
  wrap.append(root, caption);
  return wrap;
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}
