// Side panel with one segment's state (api/v1/segments/{id}) and its trend chart.
import { ApiError, loadSegmentDetail } from './api';
import { renderTrendChart } from './chart';
import { el, fmtAge, fmtDuration, fmtInt, fmtNum, fmtSigned, fmtTime } from './format';
import { CLASS_LABELS, HAZARD_STYLES, colourOfClass, hazardSvg } from './palette';
import type { SegmentDetail, SegmentProperties } from './types';
import { isConditionClass, isHazardStatus } from './types';

/** Minimum time between two detail refreshes triggered by live updates. */
const REFRESH_MS = 5000;

export class SegmentPanel {
  private id: string | null = null;
  private detail: SegmentDetail | null = null;
  private live: SegmentProperties | null = null;
  private abort: AbortController | null = null;
  private refreshTimer: ReturnType<typeof setTimeout> | null = null;
  private lastFetch = 0;

  constructor(
    private readonly root: HTMLElement,
    private readonly onClose: () => void,
  ) {
    document.addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape' && this.id) this.onClose();
    });
  }

  get selectedId(): string | null {
    return this.id;
  }

  open(id: string, live: SegmentProperties | null): void {
    this.close(false);
    this.id = id;
    this.live = live;
    this.root.hidden = false;
    this.root.dataset.segmentId = id;
    this.render('loading');
    void this.fetch();
  }

  close(hide = true): void {
    this.abort?.abort();
    this.abort = null;
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
    this.id = null;
    this.detail = null;
    this.live = null;
    if (hide) {
      this.root.hidden = true;
      delete this.root.dataset.segmentId;
      this.root.dataset.state = 'closed';
      this.root.replaceChildren();
    }
  }

  /** A live condition for the open segment: show it now, refresh the detail soon. */
  liveUpdate(p: SegmentProperties): void {
    if (!this.id || p.segment_id !== this.id) return;
    this.live = p;
    if (this.root.dataset.state === 'loaded') this.render('loaded');
    if (!this.refreshTimer) {
      const wait = Math.max(0, this.lastFetch + REFRESH_MS - Date.now());
      this.refreshTimer = setTimeout(() => {
        this.refreshTimer = null;
        void this.fetch();
      }, wait);
    }
  }

  private async fetch(): Promise<void> {
    const id = this.id;
    if (!id) return;
    this.abort?.abort();
    const ctl = new AbortController();
    this.abort = ctl;
    this.lastFetch = Date.now();
    try {
      const d = await loadSegmentDetail(id, ctl.signal);
      if (this.id !== id || ctl.signal.aborted) return;
      this.detail = d;
      this.render('loaded');
    } catch (e) {
      if (this.id !== id || ctl.signal.aborted) return;
      if (this.detail) return; // keep showing the last good detail
      const msg =
        e instanceof ApiError && e.status === 404
          ? `Segment ${id} is not known to the server${e.problem?.detail ? `: ${e.problem.detail}` : '.'}`
          : `Could not load segment ${id}: ${(e as Error).message}`;
      this.render('error', msg);
    }
  }

  private render(state: 'loading' | 'loaded' | 'error', error?: string): void {
    const id = this.id;
    if (!id) return;
    this.root.dataset.state = state;
    const d = this.detail;
    const live = this.live;
    // Live values are newer than the detail when their version is not older.
    const liveNewer = live && (d?.version == null || live.version == null || live.version >= d.version);
    const pick = <K extends keyof SegmentProperties & keyof SegmentDetail>(k: K) =>
      (liveNewer && live?.[k] != null ? live[k] : (d?.[k] ?? live?.[k] ?? null)) as SegmentDetail[K] | null;

    const cls = pick('condition_class');
    const clsOk = isConditionClass(cls) ? cls : null;
    const name = d?.name ?? live?.name ?? null;
    const close = el('button', { type: 'button', class: 'close', 'aria-label': 'Close panel', 'data-testid': 'panel-close' }, '×');
    close.addEventListener('click', () => this.onClose());

    const head = el(
      'header',
      { class: 'panel-head' },
      el('h2', { 'data-testid': 'panel-title' }, name || `Segment ${id}`),
      close,
      el(
        'p',
        { class: 'muted' },
        [`Segment ${id}`, d?.highway ?? live?.highway, d?.length_m ?? live?.length_m ? fmtNum(d?.length_m ?? live?.length_m, 0, 'm') : null]
          .filter(Boolean)
          .join(' · '),
      ),
    );

    const badge = el(
      'div',
      { class: 'badge', 'data-testid': 'panel-class', 'data-class': clsOk ?? 'no_data' },
      el('span', { class: 'swatch', style: `background:${colourOfClass(clsOk)}` }),
      clsOk ? CLASS_LABELS[clsOk] : 'No data yet',
    );
    const index = el('div', { class: 'big', 'data-testid': 'panel-index' }, fmtNum(pick('condition_index'), 1), el('small', {}, ' PCI'));
    const updated = pick('updated_ms');
    const summary = el(
      'section',
      { class: 'summary' },
      el('div', { class: 'row' }, badge, index),
      kv([
        ['Trend (30 d)', fmtSigned(d?.trend_per_30d, 1, 'PCI')],
        ['Updated', updated ? `${fmtTime(updated)} (${fmtAge(updated)})` : '—'],
        ['Data age', fmtDuration(d?.freshness_s)],
        ['Open hazards', fmtInt(live?.hazards_open ?? d?.hazards?.length ?? null)],
      ]),
    );

    const parts: Array<Node> = [head, summary];
    if (state === 'loading') parts.push(el('p', { class: 'muted', 'data-testid': 'panel-loading' }, 'Loading…'));
    if (state === 'error') parts.push(el('p', { class: 'error', 'data-testid': 'panel-error', role: 'alert' }, error ?? 'Error'));
    if (d) {
      const r = d.roughness ?? {};
      parts.push(
        section(
          'Roughness',
          kv([
            ['IRI', fmtNum(liveNewer && live?.iri_m_per_km != null ? live.iri_m_per_km : (r.iri_m_per_km ?? live?.iri_m_per_km), 2, 'm/km')],
            ['Class', r.class ?? '—'],
            ['Confidence', r.confidence == null ? '—' : r.confidence <= 1 ? fmtNum(r.confidence * 100, 0, '%') : fmtNum(r.confidence, 2)],
            ['Traversals', fmtInt(r.traversals)],
            ['Vehicles', fmtInt(r.vehicles)],
          ]),
          'panel-roughness',
        ),
      );
      const s = d.structural ?? {};
      const life = s.remaining_life_days;
      parts.push(
        section(
          'Structure',
          kv([
            ['ESAL', fmtNum(s.esal, 1)],
            ['Fatigue damage', fmtNum(s.fatigue_damage, 3)],
            ['Remaining life', life == null ? '—' : `${fmtInt(life)} d${life >= 365 ? ` (${fmtNum(life / 365.25, 1)} y)` : ''}`],
            ['Freeze–thaw cycles', fmtInt(s.freeze_thaw_cycles)],
            ['Temperature', fmtNum(s.temperature_c, 1, '°C')],
            ['Moisture', fmtNum(s.moisture_vwc_percent, 1, '% VWC')],
          ]),
          'panel-structural',
        ),
      );
      parts.push(section('Hazards', this.hazardList(d), 'panel-hazards'));
      const days = d.history?.length ?? 0;
      const title = days === 0 ? 'History' : days === 1 ? 'Last day' : `Last ${days} days`;
      parts.push(section(title, renderTrendChart(d.history), 'panel-trend'));
    }
    this.root.replaceChildren(...parts);
  }

  private hazardList(d: SegmentDetail): Node {
    const hz = d.hazards ?? [];
    if (hz.length === 0) return el('p', { class: 'muted' }, 'None reported.');
    const ul = el('ul', { class: 'hazards' });
    for (const h of hz) {
      const st = isHazardStatus(h.status) ? HAZARD_STYLES[h.status] : null;
      const icon = el('span', { class: 'hz-sym' });
      if (st) icon.innerHTML = hazardSvg(st.shape, st.colour, 14);
      ul.append(
        el(
          'li',
          {},
          icon,
          el('span', {}, `${st?.label ?? h.status ?? 'Unknown'} · severity ${h.severity ?? '—'} · ${fmtInt(h.vehicles)} vehicles`),
          el('span', { class: 'muted' }, ` first seen ${fmtTime(h.first_seen_ms)}${h.offset_m != null ? ` at ${fmtInt(h.offset_m)} m` : ''}`),
        ),
      );
    }
    return ul;
  }
}

function kv(rows: Array<[string, string]>): HTMLElement {
  const dl = el('dl', { class: 'kv' });
  for (const [k, v] of rows) dl.append(el('dt', {}, k), el('dd', {}, v));
  return dl;
}

function section(title: string, body: Node, testid: string): HTMLElement {
  return el('section', { 'data-testid': testid }, el('h3', {}, title), body);
}
