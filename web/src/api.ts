// REST access to the gateway. Every URL is relative to the page, so the page
// works wherever the gateway mounts it; a `?token=` in the page URL is sent as
// a bearer token.
import type {
  FeatureCollection,
  HazardFeature,
  PageConfig,
  Problem,
  SegmentDetail,
  SegmentFeature,
} from './types';

/** The contractor token from the page URL (`?token=XYZ`), or null. */
export function pageToken(): string | null {
  const t = new URLSearchParams(location.search).get('token');
  return t && t.trim() !== '' ? t.trim() : null;
}

/** An absolute URL for `path` resolved against the page's own URL. */
export function apiUrl(path: string): string {
  return new URL(path, document.baseURI).toString();
}

/** The feed's ws:// or wss:// URL, relative to the page's path. */
export function feedUrl(): string {
  const u = new URL('api/v1/feed', document.baseURI);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  u.search = '';
  u.hash = '';
  return u.toString();
}

/** A failed request: HTTP status (0 for network errors) and the problem document if any. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly problem: Problem | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

const TIMEOUT_MS = 15_000;

export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const token = pageToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  const timeout = AbortSignal.timeout(TIMEOUT_MS);
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
  let res: Response;
  try {
    res = await fetch(apiUrl(path), { headers, signal: combined, cache: 'no-store' });
  } catch (e) {
    if (signal?.aborted) throw e;
    throw new ApiError(0, timeout.aborted ? `${path}: timed out` : `${path}: server unreachable`);
  }
  if (!res.ok) {
    let problem: Problem | null = null;
    try {
      problem = (await res.json()) as Problem;
    } catch {
      /* not a problem document */
    }
    const what = problem?.detail || problem?.title || res.statusText || 'request failed';
    throw new ApiError(res.status, `${path}: ${res.status} ${what}`, problem);
  }
  return (await res.json()) as T;
}

/** `config.json`, or null when the gateway has none (404) or it is unusable. */
export async function loadConfig(): Promise<PageConfig | null> {
  try {
    const c = await getJson<PageConfig>('config.json');
    return c && typeof c === 'object' ? c : null;
  } catch {
    return null;
  }
}

export function loadSegments(): Promise<FeatureCollection<SegmentFeature>> {
  return getJson<FeatureCollection<SegmentFeature>>('api/v1/segments');
}

export function loadSegmentDetail(id: string, signal?: AbortSignal): Promise<SegmentDetail> {
  return getJson<SegmentDetail>(`api/v1/segments/${encodeURIComponent(id)}`, signal);
}

export function loadHazards(statuses: readonly string[]): Promise<FeatureCollection<HazardFeature>> {
  return getJson<FeatureCollection<HazardFeature>>(`api/v1/hazards?status=${statuses.join(',')}`);
}
