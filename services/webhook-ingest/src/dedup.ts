/**
 * Deduplication of incident events across every webhook a replica has in flight (ADR 0021):
 * the id checks of concurrent webhooks go to the store as one query, their records as one
 * insert, and an event id carried by two webhooks at once is published by one of them only.
 */

/** Where accepted event ids are kept (`ingest.received_events`). Each call is one round trip. */
export interface ReceivedEventStore<E> {
  /** The ids among `ids` that were accepted before. */
  known(ids: readonly string[]): Promise<Iterable<string>>;
  /** Records events that were published; an id recorded already is left as it is. */
  record(events: readonly E[]): Promise<void>;
}

interface Waiting<Req, Res> {
  request: Req;
  resolve: (result: Res) => void;
  reject: (error: unknown) => void;
}

/**
 * Collects requests and runs them together: the requests made while the event loop handles one
 * round of I/O go out at the next `setImmediate`, and those made while a run is in flight go out
 * together as soon as it ends (one run at a time), each run holding at most `maxSize` units
 * (unless one request alone is larger). A failed run rejects each of its requests with its error.
 */
export class Batcher<Req, Res> {
  readonly #queue: Waiting<Req, Res>[] = [];
  #queuedSize = 0;
  #scheduled = false;
  #running = false;

  constructor(
    private readonly opts: {
      /** Runs a batch; returns one result per request, in order. */
      run: (requests: Req[]) => Promise<Res[]>;
      /** The size of a request, counted against `maxSize` (the ids it carries). */
      size: (request: Req) => number;
      maxSize: number;
    },
  ) {}

  submit(request: Req): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      this.#queue.push({ request, resolve, reject });
      this.#queuedSize += this.opts.size(request);
      this.#schedule();
    });
  }

  /** Requests waiting for their run (not counting the run in flight). */
  get waiting(): number {
    return this.#queue.length;
  }

  #schedule() {
    if (this.#scheduled || this.#running) return;
    // A run is about to fill up already: no reason to wait for the rest of this round.
    if (this.#queuedSize >= this.opts.maxSize) {
      void this.#drain();
      return;
    }
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      if (!this.#running) void this.#drain();
    });
  }

  #take(): Waiting<Req, Res>[] {
    const batch: Waiting<Req, Res>[] = [];
    let size = 0;
    while (this.#queue.length > 0) {
      const next = this.opts.size(this.#queue[0]!.request);
      if (batch.length > 0 && size + next > this.opts.maxSize) break;
      batch.push(this.#queue.shift()!);
      size += next;
    }
    this.#queuedSize -= size;
    return batch;
  }

  async #drain() {
    this.#running = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#take();
        try {
          const results = await this.opts.run(batch.map((w) => w.request));
          if (results.length !== batch.length) {
            throw new Error(`a batch of ${batch.length} requests returned ${results.length} results`);
          }
          for (const [i, w] of batch.entries()) w.resolve(results[i]!);
        } catch (error) {
          for (const w of batch) w.reject(error);
        }
      }
    } finally {
      this.#running = false;
    }
  }
}

/** A promise settled from outside, that never counts as unhandled when nobody waits for it. */
function deferred() {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

export interface DedupOptions {
  /** Most event ids per query and per insert (default 1,000). */
  maxBatchIds?: number;
}

/**
 * One replica's dedup of incident events, shared by all its webhooks. `publishNew` claims each id
 * of the webhook on this replica, asks the store (batched) which of its claimed ids were accepted
 * before, publishes the others, records them (batched), and only then releases the claims. An id
 * claimed by another webhook still in flight is neither checked nor published again: this webhook
 * waits for the other's outcome, counts the event as a duplicate once the other recorded it, and
 * fails with the other's error if the other failed (the provider retries; nothing is answered 202
 * that was not published and recorded).
 */
export class EventDedup<E extends { eventId: string }> {
  readonly #claims = new Map<string, Promise<void>>();
  readonly #known: Batcher<string[], Set<string>>;
  readonly #record: Batcher<E[], undefined>;

  constructor(store: ReceivedEventStore<E>, opts: DedupOptions = {}) {
    const maxSize = opts.maxBatchIds ?? 1000;
    this.#known = new Batcher({
      maxSize,
      size: (ids) => ids.length,
      run: async (requests) => {
        const known = new Set(await store.known(requests.flat()));
        return requests.map((ids) => new Set(ids.filter((id) => known.has(id))));
      },
    });
    this.#record = new Batcher({
      maxSize,
      size: (events) => events.length,
      run: async (requests) => {
        await store.record(requests.flat());
        return requests.map(() => undefined);
      },
    });
  }

  /** Event ids claimed by webhooks in flight on this replica. */
  get claimed(): number {
    return this.#claims.size;
  }

  /**
   * Publishes the events of one webhook that were not accepted before (through `publish`, which
   * must resolve only once they are durable), and records them. Resolves once they are recorded.
   */
  async publishNew(events: readonly E[], publish: (fresh: E[]) => Promise<void>) {
    const mine = new Map<string, ReturnType<typeof deferred>>();
    const others: Promise<void>[] = [];
    // Synchronously, so that two webhooks of the same round cannot both claim an id.
    for (const { eventId } of events) {
      if (mine.has(eventId)) continue;
      const claim = this.#claims.get(eventId);
      if (claim) {
        others.push(claim);
        continue;
      }
      const own = deferred();
      mine.set(eventId, own);
      this.#claims.set(eventId, own.promise);
    }
    let published: E[] = [];
    try {
      if (mine.size > 0) {
        const known = await this.#known.submit([...mine.keys()]);
        const fresh = new Map<string, E>();
        for (const event of events) {
          if (mine.has(event.eventId) && !known.has(event.eventId) && !fresh.has(event.eventId)) {
            fresh.set(event.eventId, event);
          }
        }
        published = [...fresh.values()];
        if (published.length > 0) {
          await publish(published);
          await this.#record.submit(published);
        }
      }
      for (const own of mine.values()) own.resolve();
    } catch (error) {
      for (const own of mine.values()) own.reject(error);
      throw error;
    } finally {
      for (const id of mine.keys()) this.#claims.delete(id);
    }
    // Waited for last: the other webhook's claim never waits for this one, so none deadlocks.
    await Promise.all(others);
    return { published, duplicates: events.length - published.length };
  }
}
