// Small formatting helpers for numbers, times and durations.

export function fmtNum(v: number | null | undefined, digits = 1, unit = ''): string {
  if (v == null || !Number.isFinite(v)) return '—';
  const s = v.toLocaleString('en-GB', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  return unit ? `${s} ${unit}` : s;
}

export function fmtInt(v: number | null | undefined, unit = ''): string {
  return fmtNum(v, 0, unit);
}

/** Signed number, e.g. "+1.2" / "−0.4". */
export function fmtSigned(v: number | null | undefined, digits = 1, unit = ''): string {
  if (v == null || !Number.isFinite(v)) return '—';
  const s = fmtNum(Math.abs(v), digits, unit);
  return v > 0 ? `+${s}` : v < 0 ? `−${s}` : s;
}

const two = (n: number) => String(n).padStart(2, '0');

/** Local time of day (HH:MM:SS), prefixed with the date when not today. */
export function fmtTime(ms: number | null | undefined): string {
  if (ms == null || !Number.isFinite(ms)) return '—';
  const d = new Date(ms);
  const time = `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
  const now = new Date();
  if (d.toDateString() === now.toDateString()) return time;
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${time}`;
}

/** A duration in seconds as "45 s", "12 min", "3 h", "2 d". */
export function fmtDuration(seconds: number | null | undefined): string {
  if (seconds == null || !Number.isFinite(seconds)) return '—';
  const s = Math.max(0, seconds);
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

/** "3 s ago" style age of an epoch-ms time. */
export function fmtAge(ms: number | null | undefined, now = Date.now()): string {
  if (ms == null || !Number.isFinite(ms)) return '—';
  return `${fmtDuration((now - ms) / 1000)} ago`;
}

/** "20 Nov" from "2026-11-20". */
export function fmtDay(day: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) return day;
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  return `${Number(m[3])} ${months[Number(m[2]) - 1] ?? m[2]}`;
}

/** Shorthand for building DOM: el('div', {class: 'x'}, 'text', child). */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number | boolean | null | undefined> = {},
  ...children: Array<Node | string | null | undefined>
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') node.className = String(v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c != null) node.append(c);
  return node;
}
