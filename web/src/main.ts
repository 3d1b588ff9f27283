// Wires the page together: REST bootstrap (config, segments, hazards), the
// live feed, the map layers, legend/filters, panel and the test hooks.
import './style.css';
import { ApiError, feedUrl, loadConfig, loadHazards, loadSegments, pageToken } from './api';
import { Feed } from './feed';
import { DEFAULT_SHOWN_STATUSES, FETCHED_STATUSES, HazardLayer } from './hazards';
import { installHooks } from './hooks';
import { Legend } from './legend';
import { SegmentLayer, applyBasemap, createMap, showZone } from './map';
import { SegmentPanel } from './panel';
import { LiveIndicator } from './status';
import type { Condition, FeatureCollection, PageConfig, SegmentFeature } from './types';

function byTestId(id: string): HTMLElement {
  const node = document.querySelector<HTMLElement>(`[data-testid="${id}"]`);
  if (!node) throw new Error(`page skeleton lacks [data-testid=${id}]`);
  return node;
}

const token = pageToken();
const indicator = new LiveIndicator(byTestId('live-indicator'), byTestId('role'));
const banner = byTestId('banner');
const mapEl = byTestId('map');
const map = createMap(mapEl);
const segments = new SegmentLayer(map, (id) => select(id));
const hazards = new HazardLayer(map, (id, off) => segments.pointAlong(id, off), (id) => select(id));
const panel = new SegmentPanel(byTestId('segment-panel'), () => select(null));
const legend = new Legend({
  classRoot: byTestId('legend'),
  hazardRoot: byTestId('hazard-legend'),
  initialStatuses: new Set(DEFAULT_SHOWN_STATUSES),
  onClassFilter: (keys) => segments.setClassFilter(keys),
  onHazardFilter: (statuses) => hazards.setStatusFilter(statuses),
});

const state = {
  ready: false,
  updatesReceived: 0,
  snapshotsReceived: 0,
  role: null as string | null,
  zone: null as unknown,
  hazardsLoaded: false,
};

let zoneLayer: ReturnType<typeof showZone> = null;

const feed = new Feed({
  url: feedUrl(),
  token,
  handlers: {
    hello(msg) {
      state.role = msg.role != null ? String(msg.role) : null;
      state.zone = msg.zone ?? null;
      indicator.showHello(msg);
      zoneLayer?.remove();
      zoneLayer = showZone(map, msg.zone);
    },
    snapshot(msg) {
      state.snapshotsReceived += 1;
      for (const c of msg.segments ?? []) if (c && typeof c === 'object') applyCondition(c);
      for (const h of msg.hazards ?? []) hazards.upsert(h);
      if (!state.hazardsLoaded) void fetchHazards();
      scheduleCounts();
    },
    condition(c) {
      countUpdate();
      applyCondition(c);
      scheduleCounts();
    },
    hazard(h) {
      countUpdate();
      hazards.upsert(h);
      scheduleCounts();
    },
    serverError(msg) {
      indicator.showServerError(msg.code, msg.message);
    },
    status(s) {
      indicator.setStatus(s);
    },
  },
});

installHooks({
  get ready() {
    return state.ready;
  },
  get segmentsDrawn() {
    return segments.drawnCount();
  },
  get updatesReceived() {
    return state.updatesReceived;
  },
  get lastSeq() {
    return feed.lastSeq;
  },
  get connection() {
    return feed.state;
  },
  get snapshotsReceived() {
    return state.snapshotsReceived;
  },
  get hazardsDrawn() {
    return hazards.drawnCount();
  },
  hazardCounts() {
    return hazards.counts();
  },
  get role() {
    return state.role;
  },
  get zone() {
    return state.zone;
  },
  get selectedSegmentId() {
    return panel.selectedId;
  },
  colourOf: (id) => segments.colourOf(String(id)),
  classOf: (id) => segments.classOf(String(id)),
  visibleSegmentIds: () => segments.visibleIds(),
  drawnSegmentIds: () => segments.drawnIds(),
  screenPointOf: (id) => segments.screenPointOf(String(id)),
  classCounts: () => segments.counts(),
  select: (id) => select(id == null ? null : String(id)),
});

function countUpdate(): void {
  state.updatesReceived += 1;
  indicator.countUpdate();
}

function applyCondition(c: Condition): void {
  if (c.segment_id == null) return;
  const id = String(c.segment_id);
  if (segments.applyCondition({ ...c, segment_id: id }) && panel.selectedId === id) {
    const p = segments.props(id);
    if (p) panel.liveUpdate(p);
  }
}

let countsTimer: ReturnType<typeof setTimeout> | null = null;
function scheduleCounts(): void {
  if (countsTimer) return;
  countsTimer = setTimeout(() => {
    countsTimer = null;
    legend.updateCounts(segments.counts(), hazards.counts());
  }, 250);
}

function select(id: string | null): void {
  if (id === null || segments.props(id) === null) {
    panel.close();
    segments.select(null);
    document.body.classList.remove('panel-open');
    history.replaceState(null, '', location.pathname + location.search);
  } else {
    panel.open(id, segments.props(id));
    segments.select(id);
    document.body.classList.add('panel-open');
    history.replaceState(null, '', `${location.pathname}${location.search}#segment=${encodeURIComponent(id)}`);
  }
  map.invalidateSize({ pan: false });
  if (id) segments.zoomTo(id);
}

function showBanner(text: string | null): void {
  banner.hidden = text === null;
  banner.textContent = text ?? '';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Loads the segments, retrying with backoff (capped at 5 s) while the gateway is unreachable. */
async function loadSegmentsWithRetry(): Promise<FeatureCollection<SegmentFeature>> {
  for (let attempt = 0; ; attempt++) {
    try {
      const fc = await loadSegments();
      showBanner(null);
      indicator.setNote(null);
      return fc;
    } catch (e) {
      const status = e instanceof ApiError ? e.status : 0;
      const why =
        status === 401 || status === 403
          ? `not authorised (${status})${token ? ': check the token in the page address' : ''}`
          : status === 0
            ? 'gateway unreachable'
            : `gateway error (${status})`;
      const delay = Math.min(5000, 1000 * 2 ** attempt);
      showBanner(`Cannot load road segments: ${why}. Retrying in ${Math.round(delay / 1000)} s…`);
      indicator.setNote(`segments: ${why}`);
      await sleep(delay);
    }
  }
}

let hazardsInFlight = false;
async function fetchHazards(): Promise<void> {
  if (hazardsInFlight) return;
  hazardsInFlight = true;
  try {
    const fc = await loadHazards(FETCHED_STATUSES);
    for (const f of fc.features ?? []) hazards.upsert(f);
    state.hazardsLoaded = true;
    scheduleCounts();
  } catch {
    // Retried on the next snapshot; hazards from the feed still arrive.
  } finally {
    hazardsInFlight = false;
  }
}

function setView(config: PageConfig | null): void {
  const c = config?.center;
  if (Array.isArray(c) && c.length === 2 && Number.isFinite(c[0]) && Number.isFinite(c[1])) {
    const z = typeof config?.zoom === 'number' && Number.isFinite(config.zoom) ? config.zoom : 12;
    map.setView([c[0], c[1]], z, { animate: false });
    return;
  }
  const b = segments.bounds();
  if (b?.isValid()) map.fitBounds(b, { padding: [16, 16], animate: false });
}

/** Resolves after the next frame (or 100 ms when frames are not being produced). */
function nextFrame(): Promise<void> {
  return new Promise((r) => {
    const t = setTimeout(r, 100);
    requestAnimationFrame(() => {
      clearTimeout(t);
      r();
    });
  });
}

async function boot(): Promise<void> {
  const configP = loadConfig();
  const fc = await loadSegmentsWithRetry();
  const config = await configP;
  applyBasemap(map, config);
  segments.load(Array.isArray(fc.features) ? fc.features : []);
  setView(config);
  legend.updateCounts(segments.counts(), hazards.counts());
  await nextFrame();
  state.ready = true;
  document.body.dataset.ready = 'true';
  void fetchHazards();
  feed.start();
  const m = /^#segment=(.+)$/.exec(location.hash);
  if (m) select(decodeURIComponent(m[1]));
}

void boot();
