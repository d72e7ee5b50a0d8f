// What one listener (the KMS's gRPC and REST ports, the EKM's HTTPS port)
// lets a stranger hold: time to send headers and a body, time a connection
// may sit with nothing in flight, connections and HTTP/2 streams at once, and
// bytes of unfinished request bodies held in memory across all requests.
// A request past a cap is refused (RESOURCE_EXHAUSTED: gRPC status 8, HTTP
// 429); a body that does not arrive in time gets 408 (gRPC:
// DEADLINE_EXCEEDED). The defaults and the flags that set them are in the
// README ("Configuration").

export interface ListenerLimits {
  /** From a connection's first byte (or the end of the previous request) until a request's headers are complete. */
  headersTimeoutMs: number;
  /** From a request's headers until the end of its body. */
  bodyTimeoutMs: number;
  /** A connection with no request in flight is closed after this long. */
  idleTimeoutMs: number;
  /** Open connections at once; more are turned away. */
  maxConnections: number;
  /** HTTP/2 streams at once on one connection (SETTINGS_MAX_CONCURRENT_STREAMS). */
  maxConcurrentStreams: number;
  /** Bytes of request bodies held at once across every request of the listener. */
  maxBufferedBytes: number;
}

export const DEFAULT_LIMITS: Readonly<ListenerLimits> = Object.freeze({
  headersTimeoutMs: 10_000,
  bodyTimeoutMs: 30_000,
  idleTimeoutMs: 60_000,
  maxConnections: 1024,
  maxConcurrentStreams: 128,
  maxBufferedBytes: 64 * 1024 * 1024,
});

/** The defaults with whatever the caller set. */
export function limitsWith(overrides: Partial<ListenerLimits> | undefined, defaults: Readonly<ListenerLimits> = DEFAULT_LIMITS): ListenerLimits {
  const limits = { ...defaults };
  for (const key of Object.keys(defaults) as (keyof ListenerLimits)[]) {
    const value = overrides?.[key];
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`limit ${key} must be a positive integer`);
    limits[key] = value;
  }
  return limits;
}

/**
 * The bytes of request bodies a listener holds, against its cap. A reader
 * takes room for each chunk before keeping it and gives back what it took
 * when the request is done with its body (answered, refused or gone).
 */
export class BodyBudget {
  #used = 0;
  #peak = 0;

  constructor(readonly capacity: number) {}

  /** Takes n bytes; false (and nothing taken) when that would pass the cap. */
  take(n: number): boolean {
    if (this.#used + n > this.capacity) return false;
    this.#used += n;
    if (this.#used > this.#peak) this.#peak = this.#used;
    return true;
  }

  release(n: number): void {
    this.#used -= n;
  }

  /** Bytes held now. */
  get used(): number {
    return this.#used;
  }

  /** The most ever held at once. */
  get peak(): number {
    return this.#peak;
  }
}

/** One request's share of a budget: what it took, given back exactly once. */
export class BodyHold {
  #held = 0;

  constructor(private readonly budget: BodyBudget | undefined) {}

  take(n: number): boolean {
    if (this.budget && !this.budget.take(n)) return false;
    this.#held += n;
    return true;
  }

  releaseAll(): void {
    this.budget?.release(this.#held);
    this.#held = 0;
  }
}

/** The command-line flag of each limit (openekm serve, dev, ekm serve). */
export const LIMIT_FLAGS: Readonly<Record<keyof ListenerLimits, string>> = {
  headersTimeoutMs: 'headers-timeout-ms',
  bodyTimeoutMs: 'body-timeout-ms',
  idleTimeoutMs: 'idle-timeout-ms',
  maxConnections: 'max-connections',
  maxConcurrentStreams: 'max-concurrent-streams',
  maxBufferedBytes: 'max-buffered-bytes',
};

/** parseArgs options for the limit flags. */
export const LIMIT_FLAG_OPTIONS: Readonly<Record<string, { type: 'string' }>> = Object.fromEntries(
  Object.values(LIMIT_FLAGS).map((flag) => [flag, { type: 'string' as const }]),
);

/** The limits set on the command line; `fail` makes the error for a bad value. */
export function limitsFromFlags(values: Readonly<Record<string, unknown>>, fail: (message: string) => Error): Partial<ListenerLimits> {
  const limits: Partial<ListenerLimits> = {};
  for (const [key, flag] of Object.entries(LIMIT_FLAGS) as [keyof ListenerLimits, string][]) {
    const raw = values[flag];
    if (raw === undefined) continue;
    const n = Number(raw);
    if (typeof raw !== 'string' || !/^[0-9]+$/.test(raw) || !Number.isSafeInteger(n) || n < 1) {
      throw fail(`--${flag}: not a positive integer: ${String(raw)}`);
    }
    limits[key] = n;
  }
  return limits;
}

/** A deadline registered with Deadlines; remove it when what it guards is done. */
export interface Deadline {
  readonly at: number;
  readonly fire: () => void;
}

/** A deadline in the list: linked both ways, so removing one is O(1) and hashes nothing. */
interface Entry extends Deadline {
  prev: Entry | undefined;
  next: Entry | undefined;
  live: boolean;
}

/**
 * The body timeouts of one listener, checked together every period (a
 * quarter of the timeout, at most a second) instead of a timer per request:
 * adding and removing an entry links and unlinks it in a list, where a timer
 * per request cost about half a microsecond to arm and clear (and a Set,
 * measured on the gRPC path, more). Deadlines count from the last sweep's
 * clock (at most one period behind) plus one period, so one fires between its
 * timeout and two periods later, never before.
 */
export class Deadlines {
  #head: Entry | undefined;
  readonly #timer: NodeJS.Timeout;
  readonly #periodMs: number;
  #now = performance.now();

  constructor(timeoutMs: number) {
    this.#periodMs = Math.max(20, Math.min(1000, Math.floor(timeoutMs / 4)));
    this.#timer = setInterval(() => this.#sweep(), this.#periodMs);
    this.#timer.unref();
  }

  add(timeoutMs: number, fire: () => void): Deadline {
    const entry: Entry = { at: this.#now + this.#periodMs + timeoutMs, fire, prev: undefined, next: this.#head, live: true };
    if (this.#head) this.#head.prev = entry;
    this.#head = entry;
    return entry;
  }

  remove(deadline: Deadline | undefined): void {
    const entry = deadline as Entry | undefined;
    if (!entry?.live) return;
    entry.live = false;
    if (entry.prev) entry.prev.next = entry.next;
    else this.#head = entry.next;
    if (entry.next) entry.next.prev = entry.prev;
    entry.prev = entry.next = undefined;
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #sweep(): void {
    const now = (this.#now = performance.now());
    for (let entry = this.#head; entry; ) {
      const next = entry.next;
      if (entry.at <= now) {
        this.remove(entry);
        entry.fire();
      }
      entry = next;
    }
  }
}
