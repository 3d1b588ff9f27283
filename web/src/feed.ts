// The live feed: one WebSocket to `api/v1/feed`, subscribe on open, resume
// from the last processed `seq` after a drop, reconnect with capped
// exponential backoff. Knows nothing about the map or the DOM.
import type {
  Condition,
  ConditionMessage,
  ErrorMessage,
  HazardMessage,
  HelloMessage,
  SnapshotMessage,
} from './types';

export type ConnectionState = 'connecting' | 'live' | 'reconnecting' | 'closed';

export interface FeedStatus {
  state: ConnectionState;
  /** Human-readable reason for the last close or failure, or null. */
  reason: string | null;
  /** Close code of the last close, or null. */
  code: number | null;
  /** When reconnecting: epoch ms of the next attempt. */
  retryAt: number | null;
}

export interface FeedHandlers {
  hello(msg: HelloMessage): void;
  snapshot(msg: SnapshotMessage): void;
  condition(c: Condition, seq: number): void;
  hazard(h: unknown, seq: number): void;
  serverError(msg: ErrorMessage): void;
  status(s: FeedStatus): void;
}

export interface FeedOptions {
  url: string;
  token: string | null;
  handlers: FeedHandlers;
  /** Base and cap of the reconnect delay (ms). */
  backoffBaseMs?: number;
  backoffCapMs?: number;
  /** Give up on a socket that has not opened after this long (ms). */
  connectTimeoutMs?: number;
}

/** Reasons shown for the close codes the gateway uses. */
export const CLOSE_REASONS: Record<number, string> = {
  1000: 'closed by server',
  1001: 'server going away',
  1006: 'connection lost',
  1011: 'server error',
  1012: 'server restarting',
  1013: 'server busy',
  4001: 'unauthorised',
  4003: 'forbidden',
  4008: 'too slow',
  4009: 'too many messages',
};

/** Codes after which retrying cannot help (bad or insufficient token). */
const TERMINAL_CODES = new Set([4001, 4003]);

/** Code the page uses to close its own socket when it must resynchronise. */
const RESYNC_CODE = 4000;

export function describeClose(code: number, reason: string): string {
  const known = CLOSE_REASONS[code] ?? (code === RESYNC_CODE ? 'resynchronising' : 'closed');
  const extra = reason && reason !== known ? `: ${reason}` : '';
  return `${known}${extra} (${code})`;
}

export class Feed {
  /** Seq of the last message processed (0: none yet). */
  lastSeq = 0;
  /** The feed session the last seq belongs to, and the one the latest hello announced. */
  private session: string | null = null;
  private pendingSession: string | null = null;
  private ws: WebSocket | null = null;
  private attempt = 0;
  private stopped = false;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private connectTimer: ReturnType<typeof setTimeout> | null = null;
  private everOpened = false;
  private readonly base: number;
  private readonly cap: number;
  private readonly connectTimeout: number;
  private status: FeedStatus = { state: 'connecting', reason: null, code: null, retryAt: null };

  constructor(private readonly opts: FeedOptions) {
    this.base = opts.backoffBaseMs ?? 500;
    this.cap = opts.backoffCapMs ?? 5000;
    this.connectTimeout = opts.connectTimeoutMs ?? 10_000;
    window.addEventListener('online', () => this.reconnectNow());
  }

  get state(): ConnectionState {
    return this.status.state;
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.clearTimers();
    const ws = this.ws;
    this.ws = null;
    ws?.close(1000, 'page closed');
    this.setStatus({ state: 'closed', reason: 'stopped', code: null, retryAt: null });
  }

  /** Skip the remaining backoff (e.g. when the browser comes back online). */
  reconnectNow(): void {
    if (this.stopped || this.status.state !== 'reconnecting' || this.ws) return;
    this.clearTimers();
    this.connect();
  }

  private protocols(): string[] {
    const t = this.opts.token;
    return t ? ['pavewatch.v1', `bearer.${t}`] : ['pavewatch.v1'];
  }

  private connect(): void {
    this.setStatus({
      state: this.everOpened || this.attempt > 0 ? 'reconnecting' : 'connecting',
      reason: this.status.reason,
      code: this.status.code,
      retryAt: null,
    });
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.opts.url, this.protocols());
    } catch (e) {
      // A token that is not a valid subprotocol token makes the constructor throw.
      this.setStatus({ state: 'closed', reason: `cannot open feed: ${(e as Error).message}`, code: null, retryAt: null });
      return;
    }
    this.ws = ws;
    this.connectTimer = setTimeout(() => {
      if (this.ws === ws && ws.readyState === WebSocket.CONNECTING) ws.close();
    }, this.connectTimeout);

    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.clearConnectTimer();
      this.everOpened = true;
      ws.send(
        JSON.stringify({
          type: 'subscribe',
          kinds: ['conditions', 'hazards'],
          bbox: null,
          segments: null,
          min_class: null,
          // Resuming names the session the last seq belongs to (from `hello` or `resumed`).
          session: this.lastSeq > 0 ? this.session : null,
          resume_from: this.lastSeq > 0 ? this.lastSeq : null,
        }),
      );
      this.setStatus({ state: 'live', reason: null, code: null, retryAt: null });
    };
    ws.onmessage = (ev: MessageEvent) => {
      if (this.ws !== ws || typeof ev.data !== 'string') return;
      let msg: unknown;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return; // not JSON: ignore
      }
      if (msg && typeof msg === 'object') this.dispatch(ws, msg as { type?: unknown; seq?: unknown });
    };
    ws.onclose = (ev: CloseEvent) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.clearConnectTimer();
      if (this.stopped) return;
      const reason = describeClose(ev.code, ev.reason);
      if (TERMINAL_CODES.has(ev.code)) {
        this.setStatus({ state: 'closed', reason, code: ev.code, retryAt: null });
        return;
      }
      this.scheduleReconnect(reason, ev.code);
    };
    // Errors are always followed by a close event, handled above.
    ws.onerror = () => {};
  }

  private dispatch(ws: WebSocket, msg: { type?: unknown; seq?: unknown }): void {
    const h = this.opts.handlers;
    this.attempt = 0; // the server talks to us: the next drop starts the backoff afresh
    const seq = typeof msg.seq === 'number' && Number.isFinite(msg.seq) ? msg.seq : null;
    if (msg.type === 'resumed') {
      // The server kept our session: what follows continues its numbering. This connection
      // now *is* that session (the id its hello announced is dropped), so a later snapshot on it
      // (the session fell out of the server's journal) still belongs to the resumed id.
      const m = msg as { session?: unknown };
      if (typeof m.session === 'string') {
        this.session = m.session;
        this.pendingSession = m.session;
      }
      return;
    }
    if (msg.type === 'snapshot') {
      // A snapshot (re)starts the sequence, in the session the last hello announced.
      this.session = this.pendingSession;
      this.lastSeq = seq ?? 0;
      h.snapshot(msg as SnapshotMessage);
      return;
    }
    // Any other message with a seq (even of an unknown type) takes the next number.
    if (seq !== null) {
      if (this.lastSeq > 0 && seq <= this.lastSeq) return; // already processed (replay overlap)
      if (this.lastSeq > 0 && seq > this.lastSeq + 1) {
        // Missed messages: reconnect and let the server replay from lastSeq.
        ws.close(RESYNC_CODE, `gap after seq ${this.lastSeq}`);
        return;
      }
      this.lastSeq = seq;
    }
    switch (msg.type) {
      case 'hello': {
        const m = msg as { session?: unknown };
        this.pendingSession = typeof m.session === 'string' ? m.session : null;
        h.hello(msg as HelloMessage);
        return;
      }
      case 'condition': {
        const c = (msg as ConditionMessage).segment;
        if (c && typeof c === 'object') h.condition(c, this.lastSeq);
        return;
      }
      case 'hazard': {
        const hz = (msg as HazardMessage).hazard;
        if (hz && typeof hz === 'object') h.hazard(hz, this.lastSeq);
        return;
      }
      case 'error':
        h.serverError(msg as ErrorMessage);
        return;
      default:
        return; // unknown message types are ignored
    }
  }

  private scheduleReconnect(reason: string, code: number | null): void {
    const delay = this.backoffDelay();
    this.attempt += 1;
    this.setStatus({ state: 'reconnecting', reason, code, retryAt: Date.now() + delay });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.stopped) this.connect();
    }, delay);
  }

  /** About 0.5 s, 1 s, 2 s, 4 s, then 5 s (±20 % jitter, never above the cap). */
  private backoffDelay(): number {
    const raw = this.base * 2 ** Math.min(this.attempt, 16);
    return Math.round(Math.min(this.cap, raw * (0.8 + Math.random() * 0.4)));
  }

  private clearConnectTimer(): void {
    if (this.connectTimer) clearTimeout(this.connectTimer);
    this.connectTimer = null;
  }

  private clearTimers(): void {
    this.clearConnectTimer();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  private setStatus(s: FeedStatus): void {
    this.status = s;
    this.opts.handlers.status(s);
  }
}
