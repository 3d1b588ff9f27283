// `window.pavewatch`: the stable, documented surface the browser tests read.
// See web/README.md ("Test hooks"). Values are live getters.
import type { ConnectionState } from './feed';
import type { ClassKey } from './map';

export interface PaveWatchHooks {
  /** True once the segments are drawn and the view is set. */
  readonly ready: boolean;
  /** Segment lines currently on the map (after filters). */
  readonly segmentsDrawn: number;
  /** Live `condition` and `hazard` messages processed (snapshots not counted). */
  readonly updatesReceived: number;
  /** Seq of the last feed message processed (0 before the first). */
  readonly lastSeq: number;
  /** 'connecting' | 'live' | 'reconnecting' | 'closed'. */
  readonly connection: ConnectionState;
  /** Snapshots received (one per (re)connection that was not resumed by replay). */
  readonly snapshotsReceived: number;
  /** Hazard markers currently on the map (after filters). */
  readonly hazardsDrawn: number;
  /** Hazards known per status, drawn or not (as the legend counts them, without its delay). */
  hazardCounts(): Record<string, number>;
  /** Role and zone announced by the server's `hello` (null before it). */
  readonly role: string | null;
  readonly zone: unknown;
  /** The segment whose panel is open, or null. */
  readonly selectedSegmentId: string | null;
  /** Line colour (#rrggbb) of a segment, or null when the id is not drawn data. */
  colourOf(segmentId: string): string | null;
  /** Condition class of a segment, or null (no data yet, or unknown id). */
  classOf(segmentId: string): string | null;
  /** Drawn segments intersecting the current view. */
  visibleSegmentIds(): string[];
  /** All drawn segments (after filters), in view or not. */
  drawnSegmentIds(): string[];
  /** Page (client) pixel of the segment's midpoint; inView false when off the map or filtered out. */
  screenPointOf(segmentId: string): { x: number; y: number; inView: boolean } | null;
  /** Segments per class key (including `no_data`), as in the legend. */
  classCounts(): Record<ClassKey, number>;
  /** Opens the panel for a segment (null closes it), as a click would. */
  select(segmentId: string | null): void;
}

declare global {
  interface Window {
    pavewatch: PaveWatchHooks;
  }
}

export function installHooks(hooks: PaveWatchHooks): void {
  Object.defineProperty(window, 'pavewatch', { value: hooks, configurable: false, writable: false, enumerable: true });
}
