import { isIPv4, isIPv6 } from 'node:net';
import { type EventLoopUtilization, performance } from 'node:perf_hooks';
import type { Component, HealthStatus } from '@micro-oncall/service-kit';

export interface FailureBudgetOptions {
  /** Failures a key may have per window; one more and it is exhausted until the window ends. */
  limit: number;
  windowMs: number;
  /**
   * Most keys tracked in one window. Beyond it, new keys are not tracked (their failures are not
   * counted): memory stays bounded, and the budget only ever sheds load, it never authenticates.
   */
  maxKeys?: number;
  now?: () => number;
}

/**
 * Counts failures per key (a client address) in fixed windows, in memory: per replica. Only
 * failures are recorded, so a sender that never fails never takes up an entry.
 */
export class FailureBudget {
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #maxKeys: number;
  readonly #now: () => number;
  #counts = new Map<string, number>();
  #windowEnds = 0;

  constructor(opts: FailureBudgetOptions) {
    this.#limit = opts.limit;
    this.#windowMs = opts.windowMs;
    this.#maxKeys = opts.maxKeys ?? 100_000;
    this.#now = opts.now ?? Date.now;
  }

  /** True when `key` used up its failures in the current window. */
  exhausted(key: string): boolean {
    this.#roll();
    return (this.#counts.get(key) ?? 0) >= this.#limit;
  }

  /** Records one failure of `key`. */
  fail(key: string): void {
    this.#roll();
    const count = this.#counts.get(key);
    if (count === undefined && this.#counts.size >= this.#maxKeys) return;
    this.#counts.set(key, (count ?? 0) + 1);
  }

  /** Whole seconds until the current window ends (at least 1): the Retry-After of a refusal. */
  retryAfterSeconds(): number {
    return Math.max(1, Math.ceil((this.#windowEnds - this.#now()) / 1000));
  }

  #roll(): void {
    const now = this.#now();
    if (now < this.#windowEnds) return;
    this.#counts = new Map();
    this.#windowEnds = now + this.#windowMs;
  }
}

/**
 * Admission control: at most `limit` webhooks in flight (admitted and not yet answered) per
 * replica, and at most `maxBytes` of their bodies. Beyond either a webhook is refused at once with
 * 503 and Retry-After, before its body is read, instead of waiting behind the others: above
 * capacity the answer time stays bounded (the budget times the work of one webhook) rather than
 * growing into seconds of queueing, and the provider retries it, maybe on another replica.
 * Nothing refused was accepted, so nothing is lost. The byte budget bounds the memory that
 * bodies and their parsed payloads hold, so a burst of large webhooks cannot exhaust a heap
 * sized for ordinary ones; a webhook larger than the whole byte budget is still admitted when
 * nothing else is in flight.
 */
export class InFlightBudget {
  readonly #limit: number;
  readonly #maxBytes: number;
  #current = 0;
  #bytes = 0;

  constructor(limit: number, maxBytes = Number.POSITIVE_INFINITY) {
    this.#limit = limit;
    this.#maxBytes = maxBytes;
  }

  get current(): number {
    return this.#current;
  }

  /** Body bytes of the webhooks in flight, as their senders declared them. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Takes a place for a webhook of `bytes` when the budget has room, else says which limit is
   * reached. The caller gives the place back with the returned function, once.
   */
  tryEnter(bytes = 0): (() => void) | 'webhooks' | 'bytes' {
    if (this.#current >= this.#limit) return 'webhooks';
    if (this.#current > 0 && this.#bytes + bytes > this.#maxBytes) return 'bytes';
    this.#current += 1;
    this.#bytes += bytes;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.#current -= 1;
      this.#bytes -= bytes;
    };
  }
}

/** The event loop's busy share since a mark (perf_hooks' event-loop utilisation), replaceable in tests. */
export interface LoopUtilisation {
  mark(): EventLoopUtilization;
  since(mark: EventLoopUtilization): number;
}

const nodeLoopUtilisation: LoopUtilisation = {
  mark: () => performance.eventLoopUtilization(),
  since: (mark) => performance.eventLoopUtilization(mark).utilization,
};

/**
 * The second half of admission control: how far behind its event loop is. The in-flight budget
 * bounds the webhooks a replica has started on; when its one thread is the bottleneck, the
 * queue forms before that, as requests not yet read from their sockets, and answer times grow
 * while few webhooks are in flight. A timer every `intervalMs` measures how late it fires; while
 * the loop is more than `limitMs` behind because it was working, webhooks are refused at once
 * (503 with Retry-After, the cheapest answer there is), which drains that queue instead of adding
 * to it. A late tick counts only when the loop was busy (at least `busyShare` of the time) in
 * between: a process the machine merely did not schedule while it waited for I/O has no queue of
 * its own to shed. The delay is the worse of the tick overdue now and the worst late tick of the
 * last `windowMs`, so the webhooks read right after a stall (the ones that waited through it) see
 * it, whichever the loop runs first.
 *
 * A saturated loop that never stalls is the other overload: thousands of connections each ready
 * with one request, the loop turning quickly from one to the next, none late, the in-flight
 * budget never reached, and the queue in accepted connections not yet read and in the kernel's
 * accept queue. Neither signal above sees it. Together, the loop's utilisation and the server's
 * open connections do: every `shedWindowMs` the guard reads both, and while the loop was busy at
 * least `shedAt` of the window AND more than `maxConnections` connections are open, it refuses at
 * random the share of webhooks that is the excess, `1 − maxConnections / open` (at most
 * `maxShedShare`), with the cheapest answer there is (503 at once); otherwise none. The queue is
 * the control: refusals free the loop, the queue drains towards the budget and the share with
 * it, so a replica just over capacity sheds a little and one at twice its capacity about half.
 * A few senders that keep the loop busy, each waiting for its answer, are never a queue and are
 * served at full throughput.
 */
export class EventLoopDelayGuard implements Component {
  readonly id = 'event-loop-delay-guard';
  readonly #limitMs: number;
  readonly #intervalMs: number;
  readonly #windowMs: number;
  readonly #busyShare: number;
  readonly #now: () => number;
  readonly #loop: LoopUtilisation;
  #timer: NodeJS.Timeout | undefined;
  #expected = 0;
  #mark: EventLoopUtilization | undefined;
  /** The worst busy lateness of the window, and when its tick fired. */
  #worst = 0;
  #worstAt = 0;
  readonly #shedAt: number;
  readonly #shedWindowMs: number;
  readonly #maxShedShare: number;
  readonly #random: () => number;
  readonly #connections: () => number;
  readonly #maxConnections: number;
  #shedMark: EventLoopUtilization | undefined;
  #shedWindowStart = 0;
  #shedShare = 0;

  /** `limitMs` 0 switches the delay limit off, `shedAt` 0 (the default) the shedding; both 0: no timer. */
  constructor(opts: {
    limitMs: number;
    intervalMs?: number;
    windowMs?: number;
    busyShare?: number;
    shedAt?: number;
    shedWindowMs?: number;
    maxShedShare?: number;
    random?: () => number;
    /** The server's open connections, and how many of them are not yet a queue. */
    connections?: () => number;
    maxConnections?: number;
    now?: () => number;
    loop?: LoopUtilisation;
  }) {
    this.#limitMs = opts.limitMs;
    this.#intervalMs = opts.intervalMs ?? 10;
    this.#windowMs = opts.windowMs ?? 250;
    this.#busyShare = opts.busyShare ?? 0.9;
    this.#shedAt = opts.shedAt ?? 0;
    this.#shedWindowMs = opts.shedWindowMs ?? 100;
    this.#maxShedShare = opts.maxShedShare ?? 0.95;
    this.#random = opts.random ?? Math.random;
    this.#connections = opts.connections ?? (() => 0);
    this.#maxConnections = opts.maxConnections ?? 256;
    this.#now = opts.now ?? (() => performance.now());
    this.#loop = opts.loop ?? nodeLoopUtilisation;
  }

  async start(): Promise<void> {
    if ((this.#limitMs === 0 && this.#shedAt === 0) || this.#timer) return;
    this.#expected = this.#now() + this.#intervalMs;
    this.#mark = this.#loop.mark();
    this.#shedMark = this.#mark;
    this.#shedWindowStart = this.#now();
    this.#timer = setInterval(() => this.tick(), this.#intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async healthcheck(): Promise<HealthStatus> {
    // Shedding load is not a reason to take the replica out of service.
    return { healthy: true };
  }

  /** The timer's work (public for tests with their own clock). */
  tick(): void {
    const now = this.#now();
    const late = this.#busy() ? Math.max(0, now - this.#expected) : 0;
    this.#mark = this.#loop.mark();
    if (late >= this.#worst || now - this.#worstAt > this.#windowMs) {
      this.#worst = late;
      this.#worstAt = now;
    }
    this.#expected = now + this.#intervalMs;
    if (this.#shedAt > 0 && now - this.#shedWindowStart >= this.#shedWindowMs) {
      this.#adjustShedShare(this.#shedMark ? this.#loop.since(this.#shedMark) : 0);
      this.#shedMark = this.#loop.mark();
      this.#shedWindowStart = now;
    }
  }

  /** The share of webhooks refused at random while the loop is saturated (0 when it is not). */
  get shedShare(): number {
    return this.#shedShare;
  }

  #adjustShedShare(utilisation: number): void {
    const open = this.#connections();
    this.#shedShare =
      utilisation >= this.#shedAt && open > this.#maxConnections
        ? roundShare(Math.min(this.#maxShedShare, 1 - this.#maxConnections / open))
        : 0;
  }

  /** Milliseconds the event loop is behind on its work (0 while the guard is off or not started). */
  delayMs(): number {
    if (this.#limitMs === 0 || !this.#timer) return 0;
    const now = this.#now();
    const recent = now - this.#worstAt <= this.#windowMs ? this.#worst : 0;
    const overdue = now - this.#expected;
    return overdue > recent && this.#busy() ? overdue : recent;
  }

  /** True when this webhook should be refused: the loop is behind, or saturated and it falls in the shed share. */
  overloaded(): boolean {
    if (this.#limitMs > 0 && this.delayMs() > this.#limitMs) return true;
    return this.#shedShare > 0 && this.#timer !== undefined && this.#random() < this.#shedShare;
  }

  #busy(): boolean {
    return this.#mark !== undefined && this.#loop.since(this.#mark) >= this.#busyShare;
  }
}

/** A share to the millionth: reported as it is on /metrics. */
const roundShare = (share: number) => Math.round(share * 1e6) / 1e6;

/**
 * The bucket of a client address: IPv4 addresses (also IPv4-mapped IPv6) as they are, IPv6
 * addresses by their /64 prefix, since one host commonly holds a whole /64.
 */
export function clientAddressBucket(ip: string | undefined): string {
  if (!ip) return 'unknown';
  const address = ip.replace(/%.*$/, '');
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped?.[1]) return mapped[1];
  if (isIPv4(address) || !isIPv6(address)) return address;
  const groups = (part: string) =>
    part === '' ? [] : part.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g]));
  const [head = '', tail] = address.split('::');
  const full =
    tail === undefined
      ? groups(head)
      : [...groups(head), ...Array<string>(8 - groups(head).length - groups(tail).length).fill('0'), ...groups(tail)];
  return `${full
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}
