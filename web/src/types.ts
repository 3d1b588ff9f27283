// Shapes of the gateway's contract (see web/README.md). All ids are decimal
// strings and all times epoch milliseconds; any value may be null.

export const CONDITION_CLASSES = [
  'good',
  'satisfactory',
  'fair',
  'poor',
  'very_poor',
  'serious',
  'failed',
] as const;
export type ConditionClass = (typeof CONDITION_CLASSES)[number];

export const HAZARD_STATUSES = [
  'candidate',
  'confirmed',
  'acknowledged',
  'repair_reported',
  'verified',
  'disputed',
  'resolved',
] as const;
export type HazardStatus = (typeof HAZARD_STATUSES)[number];

export type LonLat = [number, number];

/** Runtime configuration served by the gateway at `config.json` (optional). */
export interface PageConfig {
  tile_url?: string | null;
  attribution?: string | null;
  center?: [number, number] | null; // [lat, lon]
  zoom?: number | null;
}

/** The live state of a segment: a segment feature's `properties`, and a feed `condition`. */
export interface Condition {
  segment_id: string;
  condition_index?: number | null;
  condition_class?: ConditionClass | null;
  iri_m_per_km?: number | null;
  hazards_open?: number | null;
  version?: number | null;
  updated_ms?: number | null;
}

export interface SegmentProperties extends Condition {
  name?: string | null;
  highway?: string | null;
  length_m?: number | null;
}

export interface SegmentFeature {
  type: 'Feature';
  id?: string;
  geometry: { type: 'LineString'; coordinates: LonLat[] } | null;
  properties: SegmentProperties;
}

export interface FeatureCollection<F> {
  type: 'FeatureCollection';
  features: F[];
}

export interface HazardProperties {
  hazard_id: string;
  segment_id?: string | null;
  status?: HazardStatus | string | null;
  severity?: number | string | null;
  vehicles?: number | null;
  first_seen_ms?: number | null;
  confirmed_ms?: number | null;
}

export interface HazardFeature {
  type: 'Feature';
  id?: string;
  geometry: { type: 'Point'; coordinates: LonLat } | null;
  properties: HazardProperties;
}

/** A hazard as the page keeps it: the feature's properties plus a position when known. */
export interface Hazard extends HazardProperties {
  lat?: number | null;
  lon?: number | null;
  offset_m?: number | null;
}

export interface SegmentDetail {
  segment_id: string;
  name?: string | null;
  highway?: string | null;
  length_m?: number | null;
  version?: number | null;
  updated_ms?: number | null;
  condition_index?: number | null;
  condition_class?: ConditionClass | null;
  trend_per_30d?: number | null;
  freshness_s?: number | null;
  roughness?: {
    iri_m_per_km?: number | null;
    class?: string | null;
    confidence?: number | null;
    traversals?: number | null;
    vehicles?: number | null;
  } | null;
  hazards?: Array<{
    id?: string | null;
    status?: string | null;
    severity?: number | string | null;
    lat?: number | null;
    lon?: number | null;
    offset_m?: number | null;
    vehicles?: number | null;
    first_seen_ms?: number | null;
    confirmed_ms?: number | null;
  }> | null;
  structural?: {
    esal?: number | null;
    fatigue_damage?: number | null;
    remaining_life_days?: number | null;
    freeze_thaw_cycles?: number | null;
    temperature_c?: number | null;
    moisture_vwc_percent?: number | null;
  } | null;
  history?: HistoryPoint[] | null;
}

export interface HistoryPoint {
  day: string; // YYYY-MM-DD
  iri_m_per_km?: number | null;
  condition_index?: number | null;
  esal?: number | null;
}

/** RFC 9457 problem document returned by the gateway on errors. */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
}

export interface HelloMessage {
  type: 'hello';
  role?: 'agency' | 'contractor' | string;
  zone?: Record<string, unknown> | null;
}
export interface SnapshotMessage {
  type: 'snapshot';
  seq: number;
  segments?: Condition[];
  hazards?: unknown[];
}
export interface ConditionMessage {
  type: 'condition';
  seq: number;
  segment: Condition;
}
export interface HazardMessage {
  type: 'hazard';
  seq: number;
  hazard: unknown;
}
export interface ErrorMessage {
  type: 'error';
  code?: string;
  message?: string;
}

export function isConditionClass(v: unknown): v is ConditionClass {
  return typeof v === 'string' && (CONDITION_CLASSES as readonly string[]).includes(v);
}
export function isHazardStatus(v: unknown): v is HazardStatus {
  return typeof v === 'string' && (HAZARD_STATUSES as readonly string[]).includes(v);
}
