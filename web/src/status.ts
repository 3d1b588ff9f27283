// The live indicator: connection state, updates per second, last update time,
// and the role/zone the server announced in `hello`.
import { el, fmtTime } from './format';
import type { FeedStatus } from './feed';
import type { HelloMessage } from './types';

const RATE_WINDOW_MS = 5000;

export class LiveIndicator {
  private status: FeedStatus = { state: 'connecting', reason: null, code: null, retryAt: null };
  private note: string | null = null;
  private serverError: { text: string; until: number } | null = null;
  private readonly stamps: number[] = [];
  private lastUpdate: number | null = null;
  private readonly dot = el('span', { class: 'dot', 'aria-hidden': 'true' });
  private readonly stateText = el('span', { class: 'state', 'data-testid': 'live-state' });
  private readonly rate = el('span', { class: 'rate', 'data-testid': 'live-rate' });
  private readonly last = el('span', { class: 'last', 'data-testid': 'live-last' });
  private readonly detail = el('span', { class: 'detail muted', 'data-testid': 'live-detail' });

  constructor(
    private readonly root: HTMLElement, // data-testid="live-indicator"
    private readonly roleRoot: HTMLElement, // data-testid="role"
  ) {
    root.setAttribute('role', 'status');
    root.setAttribute('aria-live', 'polite');
    root.append(this.dot, this.stateText, this.rate, this.last, this.detail);
    setInterval(() => this.render(), 1000);
    this.render();
  }

  setStatus(s: FeedStatus): void {
    this.status = s;
    if (s.state === 'live') this.note = null;
    this.render();
  }

  /** A note shown while the feed is not running yet (e.g. segments failing to load). */
  setNote(note: string | null): void {
    this.note = note;
    this.render();
  }

  showServerError(code: string | undefined, message: string | undefined): void {
    this.serverError = { text: `server: ${[code, message].filter(Boolean).join(' — ') || 'error'}`, until: Date.now() + 15_000 };
    this.render();
  }

  /** Counts one live update (condition or hazard message). */
  countUpdate(now = Date.now()): void {
    this.stamps.push(now);
    this.lastUpdate = now;
    if (this.stamps.length > 20_000) this.stamps.splice(0, this.stamps.length - 10_000);
  }

  updatesPerSecond(now = Date.now()): number {
    while (this.stamps.length && this.stamps[0] < now - RATE_WINDOW_MS) this.stamps.shift();
    return this.stamps.length / (RATE_WINDOW_MS / 1000);
  }

  showHello(msg: HelloMessage): void {
    const role = msg.role === 'contractor' ? 'Contractor' : msg.role === 'agency' ? 'Agency' : String(msg.role ?? 'Unknown role');
    const z = msg.zone;
    let zone = '';
    if (z && typeof z === 'object') {
      const name = z.name ?? z.label ?? z.zone_id ?? z.id;
      zone = ` · zone ${name != null ? String(name) : 'restricted'}`;
    }
    this.roleRoot.textContent = `${role}${zone}`;
    this.roleRoot.dataset.role = String(msg.role ?? '');
    this.roleRoot.hidden = false;
  }

  private render(): void {
    const s = this.status;
    const now = Date.now();
    this.root.dataset.state = s.state;
    let text: string;
    switch (s.state) {
      case 'connecting':
        text = 'Connecting…';
        break;
      case 'live':
        text = 'Live';
        break;
      case 'reconnecting': {
        const secs = s.retryAt ? Math.max(0, Math.ceil((s.retryAt - now) / 1000)) : 0;
        text = s.retryAt && secs > 0 ? `Reconnecting in ${secs} s` : 'Reconnecting…';
        break;
      }
      case 'closed':
        text = 'Closed';
        break;
    }
    setText(this.stateText, text);
    const rate = this.updatesPerSecond(now);
    setText(this.rate, s.state === 'live' || rate > 0 ? `${rate.toFixed(rate < 10 ? 1 : 0)} upd/s` : '');
    setText(this.last, this.lastUpdate ? `last ${fmtTime(this.lastUpdate)}` : '');
    if (this.serverError && this.serverError.until < now) this.serverError = null;
    const detail = [s.state !== 'live' ? (this.note ?? s.reason) : null, this.serverError?.text].filter(Boolean).join(' · ');
    setText(this.detail, detail);
    this.root.title = detail || text;
  }
}

function setText(node: HTMLElement, s: string): void {
  if (node.textContent !== s) node.textContent = s;
}
