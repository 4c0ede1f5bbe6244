import { isIPv4, isIPv6 } from 'node:net';

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
 * replica. Beyond it a webhook is refused at once with 503 and Retry-After, before its body is
 * read, instead of waiting behind the others: above capacity the answer time stays bounded
 * (the budget times the work of one webhook) rather than growing into seconds of queueing, and
 * the provider retries it, maybe on another replica. Nothing refused was accepted, so nothing
 * is lost.
 */
export class InFlightBudget {
  readonly #limit: number;
  #current = 0;

  constructor(limit: number) {
    this.#limit = limit;
  }

  get current(): number {
    return this.#current;
  }

  /** Takes a place when one is free; the caller gives it back with the returned function, once. */
  tryEnter(): (() => void) | null {
    if (this.#current >= this.#limit) return null;
    this.#current += 1;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.#current -= 1;
    };
  }
}

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
