// The Leaflet map (canvas renderer, no basemap unless config.json names one)
// and the segment layer: one polyline per segment, coloured by class.
import * as L from 'leaflet';
import 'leaflet/dist/leaflet.css';
import { CLASS_LABELS, colourOfClass, lineWeight } from './palette';
import { fmtNum } from './format';
import type { Condition, ConditionClass, PageConfig, SegmentFeature, SegmentProperties } from './types';
import { CONDITION_CLASSES, isConditionClass } from './types';

/** Attribution the road data's licence requires; always shown. */
export const DATA_ATTRIBUTION = '© OpenStreetMap contributors (ODbL)';

/** Filter key of a segment: its class, or `no_data`. */
export type ClassKey = ConditionClass | 'no_data';
export const CLASS_KEYS: readonly ClassKey[] = [...CONDITION_CLASSES, 'no_data'];

export function createMap(el: HTMLElement): L.Map {
  const map = L.map(el, {
    preferCanvas: true,
    zoomControl: true,
    attributionControl: true,
    minZoom: 3,
    maxZoom: 19,
    zoomSnap: 0.5,
    zoomDelta: 1,
    center: [43.238, 76.889], // Almaty, until the network's bounds are known
    zoom: 11,
  });
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution(DATA_ATTRIBUTION);
  map.attributionControl.getContainer()?.setAttribute('data-testid', 'attribution');
  return map;
}

/** Adds the optional raster basemap named by config.json. */
export function applyBasemap(map: L.Map, config: PageConfig | null): void {
  const url = config?.tile_url;
  if (typeof url !== 'string' || url === '') return;
  L.tileLayer(url, {
    attribution: config?.attribution || DATA_ATTRIBUTION,
    maxZoom: 19,
  }).addTo(map);
  map.getContainer().classList.add('has-basemap');
}

/**
 * Outlines a contractor's zone when `hello.zone` carries a `bbox` [W, S, E, N]
 * (the page draws only what the server sends either way). Returns the layer.
 */
export function showZone(map: L.Map, zone: unknown): L.Layer | null {
  const b = zone && typeof zone === 'object' ? (zone as { bbox?: unknown }).bbox : null;
  if (!Array.isArray(b) || b.length !== 4 || !b.every((v) => typeof v === 'number' && Number.isFinite(v))) return null;
  const [w, s, e, n] = b as number[];
  return L.rectangle(
    [
      [s, w],
      [n, e],
    ],
    { color: '#374151', weight: 1.5, dashArray: '6 4', fill: false, interactive: false },
  ).addTo(map);
}

interface SegmentEntry {
  id: string;
  props: SegmentProperties;
  line: L.Polyline;
  bounds: L.LatLngBounds;
  shown: boolean;
}

export class SegmentLayer {
  private readonly entries = new Map<string, SegmentEntry>();
  private readonly renderer: L.Canvas;
  private shownKeys = new Set<ClassKey>(CLASS_KEYS);
  private selected: { id: string; halo: L.Polyline } | null = null;
  private networkBounds: L.LatLngBounds | null = null;

  constructor(
    private readonly map: L.Map,
    private readonly onSelect: (id: string) => void,
  ) {
    this.renderer = L.canvas({ padding: 0.3, tolerance: 5 });
    map.on('zoomend', () => this.restyleAll());
  }

  get size(): number {
    return this.entries.size;
  }

  /** Draws the segments of `api/v1/segments`; replaces whatever was drawn. */
  load(features: SegmentFeature[]): void {
    for (const e of this.entries.values()) e.line.remove();
    this.entries.clear();
    let bounds: L.LatLngBounds | null = null;
    for (const f of features) {
      const props = f?.properties;
      const coords = f?.geometry?.type === 'LineString' ? f.geometry.coordinates : null;
      const id = props?.segment_id ?? f?.id;
      if (!props || id == null || !Array.isArray(coords) || coords.length < 2) continue;
      const latlngs = coords
        .filter((c) => Array.isArray(c) && Number.isFinite(c[0]) && Number.isFinite(c[1]))
        .map((c) => L.latLng(c[1], c[0]));
      if (latlngs.length < 2) continue;
      const sid = String(id);
      const p: SegmentProperties = { ...props, segment_id: sid };
      if (!isConditionClass(p.condition_class)) p.condition_class = null;
      const line = L.polyline(latlngs, {
        renderer: this.renderer,
        lineCap: 'round',
        lineJoin: 'round',
        interactive: true,
        bubblingMouseEvents: false,
        ...this.styleFor(p),
      });
      line.on('click', () => this.onSelect(sid));
      line.bindTooltip(() => this.tooltipFor(sid), { sticky: true, direction: 'top', opacity: 0.95 });
      const entry: SegmentEntry = { id: sid, props: p, line, bounds: line.getBounds(), shown: false };
      this.entries.set(sid, entry);
      bounds = bounds ? bounds.extend(entry.bounds) : L.latLngBounds(entry.bounds.getSouthWest(), entry.bounds.getNorthEast());
      this.updateShown(entry);
    }
    this.networkBounds = bounds;
  }

  bounds(): L.LatLngBounds | null {
    return this.networkBounds;
  }

  /**
   * Applies a live condition. Unknown segments (not in `api/v1/segments`) and
   * stale versions are ignored. Returns true when the segment's state changed.
   */
  applyCondition(c: Condition): boolean {
    const e = this.entries.get(String(c.segment_id));
    if (!e) return false;
    const cur = e.props.version;
    if (c.version != null && cur != null && c.version < cur) return false;
    const next: SegmentProperties = { ...e.props };
    for (const k of ['condition_index', 'condition_class', 'iri_m_per_km', 'hazards_open', 'version', 'updated_ms'] as const) {
      if (k in c) (next as unknown as Record<string, unknown>)[k] = c[k];
    }
    if (!isConditionClass(next.condition_class)) next.condition_class = null;
    const restyle = next.condition_class !== e.props.condition_class;
    e.props = next;
    if (restyle) {
      e.line.setStyle(this.styleFor(next));
      this.updateShown(e);
    }
    return true;
  }

  props(id: string): SegmentProperties | null {
    return this.entries.get(id)?.props ?? null;
  }

  setClassFilter(keys: Set<ClassKey>): void {
    this.shownKeys = keys;
    for (const e of this.entries.values()) this.updateShown(e);
  }

  /** Segments per class over all loaded segments (filters do not change counts). */
  counts(): Record<ClassKey, number> {
    const out = Object.fromEntries(CLASS_KEYS.map((k) => [k, 0])) as Record<ClassKey, number>;
    for (const e of this.entries.values()) out[keyOf(e.props)] += 1;
    return out;
  }

  drawnCount(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.shown) n += 1;
    return n;
  }

  drawnIds(): string[] {
    const out: string[] = [];
    for (const e of this.entries.values()) if (e.shown) out.push(e.id);
    return out;
  }

  /** Drawn segments that intersect the current view. */
  visibleIds(): string[] {
    const view = this.map.getBounds();
    const out: string[] = [];
    for (const e of this.entries.values()) if (e.shown && view.intersects(e.bounds)) out.push(e.id);
    return out;
  }

  colourOf(id: string): string | null {
    const e = this.entries.get(id);
    return e ? colourOfClass(e.props.condition_class) : null;
  }

  classOf(id: string): ConditionClass | null {
    return this.entries.get(id)?.props.condition_class ?? null;
  }

  /** The page pixel of the segment's midpoint (half its drawn length), or null. */
  screenPointOf(id: string): { x: number; y: number; inView: boolean } | null {
    const e = this.entries.get(id);
    if (!e) return null;
    const pts = (e.line.getLatLngs() as L.LatLng[]).map((ll) => this.map.latLngToContainerPoint(ll));
    let total = 0;
    for (let i = 1; i < pts.length; i++) total += pts[i].distanceTo(pts[i - 1]);
    let mid = pts[0];
    let walked = 0;
    for (let i = 1; i < pts.length; i++) {
      const d = pts[i].distanceTo(pts[i - 1]);
      if (walked + d >= total / 2 && d > 0) {
        const t = (total / 2 - walked) / d;
        mid = L.point(pts[i - 1].x + (pts[i].x - pts[i - 1].x) * t, pts[i - 1].y + (pts[i].y - pts[i - 1].y) * t);
        break;
      }
      walked += d;
    }
    const size = this.map.getSize();
    const rect = this.map.getContainer().getBoundingClientRect();
    return {
      x: rect.left + mid.x,
      y: rect.top + mid.y,
      inView: e.shown && mid.x >= 0 && mid.y >= 0 && mid.x <= size.x && mid.y <= size.y,
    };
  }

  /** The point `offsetM` metres along a segment (its midpoint when offset is unknown). */
  pointAlong(id: string, offsetM: number | null | undefined): L.LatLng | null {
    const e = this.entries.get(id);
    if (!e) return null;
    const lls = e.line.getLatLngs() as L.LatLng[];
    let total = 0;
    for (let i = 1; i < lls.length; i++) total += lls[i].distanceTo(lls[i - 1]);
    const target = offsetM != null && Number.isFinite(offsetM) ? Math.max(0, Math.min(total, offsetM)) : total / 2;
    let walked = 0;
    for (let i = 1; i < lls.length; i++) {
      const d = lls[i].distanceTo(lls[i - 1]);
      if (walked + d >= target && d > 0) {
        const t = (target - walked) / d;
        return L.latLng(lls[i - 1].lat + (lls[i].lat - lls[i - 1].lat) * t, lls[i - 1].lng + (lls[i].lng - lls[i - 1].lng) * t);
      }
      walked += d;
    }
    return lls[lls.length - 1];
  }

  /** Highlights one segment (or none) with a dark halo drawn under it. */
  select(id: string | null): void {
    if (this.selected) this.selected.halo.remove();
    this.selected = null;
    const e = id ? this.entries.get(id) : undefined;
    if (!e) return;
    const halo = L.polyline(e.line.getLatLngs() as L.LatLng[], {
      renderer: this.renderer,
      color: '#111827',
      opacity: 0.55,
      weight: lineWeight(this.map.getZoom(), true) + 6,
      interactive: false,
      lineCap: 'round',
      lineJoin: 'round',
    });
    if (e.shown) {
      halo.addTo(this.map);
      e.line.bringToFront();
    }
    this.selected = { id: e.id, halo };
  }

  zoomTo(id: string): void {
    const e = this.entries.get(id);
    if (e && !this.map.getBounds().contains(e.bounds)) this.map.panInside(e.bounds.getCenter(), { padding: [40, 40] });
  }

  private updateShown(e: SegmentEntry): void {
    const show = this.shownKeys.has(keyOf(e.props));
    if (show === e.shown) return;
    e.shown = show;
    if (show) e.line.addTo(this.map);
    else e.line.remove();
    if (this.selected?.id === e.id) {
      if (show) {
        this.selected.halo.addTo(this.map);
        e.line.bringToFront();
      } else {
        this.selected.halo.remove();
      }
    }
  }

  private restyleAll(): void {
    for (const e of this.entries.values()) e.line.setStyle(this.styleFor(e.props));
    if (this.selected) this.select(this.selected.id);
  }

  private styleFor(p: SegmentProperties): L.PathOptions {
    const hasData = p.condition_class != null;
    return {
      color: colourOfClass(p.condition_class),
      weight: lineWeight(this.map.getZoom(), hasData),
      opacity: hasData ? 0.95 : 0.8,
    };
  }

  private tooltipFor(id: string): HTMLElement {
    const p = this.entries.get(id)?.props;
    const el = document.createElement('div');
    if (!p) return el;
    const name = document.createElement('strong');
    name.textContent = p.name || `Segment ${id}`;
    const line = document.createElement('div');
    const cls = p.condition_class ? CLASS_LABELS[p.condition_class] : 'No data';
    line.textContent = p.condition_class ? `${cls} · PCI ${fmtNum(p.condition_index, 0)} · IRI ${fmtNum(p.iri_m_per_km, 1)} m/km` : cls;
    el.append(name, line);
    return el;
  }
}

function keyOf(p: SegmentProperties): ClassKey {
  return p.condition_class ?? 'no_data';
}
