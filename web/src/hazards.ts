// Hazard markers: one symbol per status (shape + colour), filterable by status.
import * as L from 'leaflet';
import { HAZARD_STYLES, UNKNOWN_HAZARD_STYLE, hazardSvg } from './palette';
import { el, fmtInt, fmtTime } from './format';
import type { Hazard, HazardStatus } from './types';
import { HAZARD_STATUSES, isHazardStatus } from './types';

/** Statuses fetched from `api/v1/hazards` at start. */
export const FETCHED_STATUSES: readonly HazardStatus[] = HAZARD_STATUSES;
/**
 * Statuses shown until the user changes the filter: the open hazards that vehicles have
 * confirmed. Candidates (one vehicle's detections, most of which never confirm) would bury
 * them, and closed ones are history; the legend counts and toggles both.
 */
export const DEFAULT_SHOWN_STATUSES: readonly HazardStatus[] = [
  'confirmed',
  'acknowledged',
  'repair_reported',
  'disputed',
];

/**
 * Accepts a hazard as a GeoJSON Point feature (REST) or as a flat object
 * (feed, segment detail) and returns the page's form, or null without an id.
 */
export function normaliseHazard(raw: unknown): Hazard | null {
  if (!raw || typeof raw !== 'object') return null;
  const r = raw as Record<string, unknown>;
  let h: Record<string, unknown> = r;
  let lat: unknown = r.lat;
  let lon: unknown = r.lon;
  if (r.type === 'Feature' && r.properties && typeof r.properties === 'object') {
    h = { ...(r.properties as Record<string, unknown>) };
    const g = r.geometry as { type?: string; coordinates?: unknown } | null;
    if (g?.type === 'Point' && Array.isArray(g.coordinates)) {
      lon = g.coordinates[0];
      lat = g.coordinates[1];
    }
    if (h.hazard_id == null && r.id != null) h.hazard_id = r.id;
  }
  const id = h.hazard_id ?? h.id;
  if (id == null) return null;
  return {
    ...(h as Partial<Hazard>),
    hazard_id: String(id),
    segment_id: h.segment_id != null ? String(h.segment_id) : null,
    lat: typeof lat === 'number' && Number.isFinite(lat) ? lat : null,
    lon: typeof lon === 'number' && Number.isFinite(lon) ? lon : null,
  };
}

interface HazardEntry {
  h: Hazard;
  pos: L.LatLng | null;
  marker: L.Marker | null;
}

export type Locate = (segmentId: string, offsetM: number | null | undefined) => L.LatLng | null;

export class HazardLayer {
  private readonly entries = new Map<string, HazardEntry>();
  private readonly group: L.LayerGroup;
  private readonly icons = new Map<string, L.DivIcon>();
  private shown = new Set<string>(DEFAULT_SHOWN_STATUSES);

  constructor(
    map: L.Map,
    private readonly locate: Locate,
    private readonly onSegment: (segmentId: string) => void,
  ) {
    this.group = L.layerGroup().addTo(map);
  }

  /** Adds or updates a hazard; returns false when it has no id. */
  upsert(raw: unknown): boolean {
    const h = normaliseHazard(raw);
    if (!h) return false;
    const prev = this.entries.get(h.hazard_id);
    const merged: Hazard = prev ? { ...prev.h, ...stripNulls(h) } : h;
    let pos: L.LatLng | null = null;
    if (merged.lat != null && merged.lon != null) pos = L.latLng(merged.lat, merged.lon);
    else if (prev?.pos) pos = prev.pos;
    else if (merged.segment_id) pos = this.locate(merged.segment_id, merged.offset_m);
    const entry: HazardEntry = prev ?? { h: merged, pos, marker: null };
    const statusChanged = prev ? prev.h.status !== merged.status : true;
    entry.h = merged;
    entry.pos = pos;
    this.entries.set(merged.hazard_id, entry);
    if (statusChanged && entry.marker) {
      entry.marker.remove();
      entry.marker = null;
    }
    this.sync(entry);
    if (entry.marker && pos) entry.marker.setLatLng(pos);
    return true;
  }

  setStatusFilter(statuses: Set<string>): void {
    this.shown = statuses;
    for (const e of this.entries.values()) this.sync(e);
  }

  shownStatuses(): Set<string> {
    return new Set(this.shown);
  }

  counts(): Record<string, number> {
    const out: Record<string, number> = Object.fromEntries(HAZARD_STATUSES.map((s) => [s, 0]));
    for (const e of this.entries.values()) {
      const s = String(e.h.status ?? 'unknown');
      out[s] = (out[s] ?? 0) + 1;
    }
    return out;
  }

  drawnCount(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.marker) n += 1;
    return n;
  }

  private sync(e: HazardEntry): void {
    const status = String(e.h.status ?? '');
    const want = e.pos !== null && (this.shown.has(status) || (!isHazardStatus(status) && this.shown.size > 0));
    if (want && !e.marker && e.pos) {
      e.marker = L.marker(e.pos, {
        icon: this.iconFor(status),
        keyboard: false,
        title: `Hazard ${e.h.hazard_id} (${styleOf(status).label.toLowerCase()})`,
        riseOnHover: true,
      });
      e.marker.bindPopup(() => this.popupFor(e.h.hazard_id));
      this.group.addLayer(e.marker);
    } else if (!want && e.marker) {
      this.group.removeLayer(e.marker);
      e.marker = null;
    }
  }

  private iconFor(status: string): L.DivIcon {
    let icon = this.icons.get(status);
    if (!icon) {
      const st = styleOf(status);
      icon = L.divIcon({
        html: hazardSvg(st.shape, st.colour, 18),
        className: `hz-icon hz-${isHazardStatus(status) ? status : 'unknown'}`,
        iconSize: [18, 18],
        iconAnchor: [9, 9],
        popupAnchor: [0, -8],
      });
      this.icons.set(status, icon);
    }
    return icon;
  }

  private popupFor(id: string): HTMLElement {
    const h = this.entries.get(id)?.h;
    if (!h) return el('div');
    const status = String(h.status ?? 'unknown');
    const rows: Array<[string, string]> = [
      ['Status', styleOf(status).label],
      ['Severity', h.severity == null ? '—' : String(h.severity)],
      ['Vehicles', fmtInt(h.vehicles)],
      ['First seen', fmtTime(h.first_seen_ms)],
      ['Confirmed', fmtTime(h.confirmed_ms)],
    ];
    const dl = el('dl', { class: 'kv' });
    for (const [k, v] of rows) dl.append(el('dt', {}, k), el('dd', {}, v));
    const box = el('div', { class: 'hz-popup', 'data-testid': 'hazard-popup', 'data-hazard-id': id }, el('strong', {}, `Hazard ${id}`), dl);
    if (h.segment_id) {
      const segId = h.segment_id;
      const btn = el('button', { type: 'button', class: 'link' }, `Show segment ${segId}`);
      btn.addEventListener('click', () => this.onSegment(segId));
      box.append(btn);
    }
    return box;
  }
}

function styleOf(status: string) {
  return isHazardStatus(status) ? HAZARD_STYLES[status] : UNKNOWN_HAZARD_STYLE;
}

function stripNulls<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined)) as Partial<T>;
}
