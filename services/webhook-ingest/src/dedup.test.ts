import { describe, expect, it } from 'vitest';
import { Batcher, EventDedup, type ReceivedEventStore } from './dedup.js';

interface Ev {
  eventId: string;
}

const ev = (...ids: string[]): Ev[] => ids.map((eventId) => ({ eventId }));

/** A gate a test opens by hand. */
function gate() {
  let open!: () => void;
  let fail!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    open = res;
    fail = rej;
  });
  return { promise, open, fail };
}

/** An in-memory store that logs each round trip; `hold*` makes the next calls wait for a gate. */
function fakeStore(accepted: string[] = []) {
  const ids = new Set(accepted);
  const calls: { op: 'known' | 'record'; ids: string[] }[] = [];
  const log: string[] = [];
  let holdKnown: Promise<void> | undefined;
  let holdRecord: Promise<void> | undefined;
  const store: ReceivedEventStore<Ev> = {
    async known(asked) {
      calls.push({ op: 'known', ids: [...asked] });
      await holdKnown;
      return asked.filter((id) => ids.has(id));
    },
    async record(events) {
      calls.push({ op: 'record', ids: events.map((e) => e.eventId) });
      await holdRecord;
      for (const e of events) ids.add(e.eventId);
      log.push(`record ${events.map((e) => e.eventId).join(',')}`);
    },
  };
  return {
    store,
    calls,
    log,
    ids,
    holdKnown: (p: Promise<void> | undefined) => (holdKnown = p),
    holdRecord: (p: Promise<void> | undefined) => (holdRecord = p),
  };
}

/** A publisher that logs what it published and can be made to fail. */
function fakePublisher(log: string[]) {
  const published: string[] = [];
  let failWith: unknown;
  return {
    published,
    failNext: (error: unknown) => (failWith = error),
    publish: async (events: Ev[]) => {
      await Promise.resolve();
      if (failWith) {
        const error = failWith;
        failWith = undefined;
        throw error;
      }
      published.push(...events.map((e) => e.eventId));
      log.push(`publish ${events.map((e) => e.eventId).join(',')}`);
    },
  };
}

describe(EventDedup.name, () => {
  it('checks and records the webhooks of one round in one query and one insert, each answered with its own events', async () => {
    const db = fakeStore(['a2']);
    const kafka = fakePublisher(db.log);
    const dedup = new EventDedup(db.store);
    const answers = await Promise.all([
      dedup.publishNew(ev('a1', 'a2'), kafka.publish),
      dedup.publishNew(ev('b1'), kafka.publish),
      dedup.publishNew(ev('c1', 'c2', 'c3'), kafka.publish),
    ]);
    expect(answers.map((a) => ({ published: a.published.map((e) => e.eventId), duplicates: a.duplicates }))).toEqual([
      { published: ['a1'], duplicates: 1 },
      { published: ['b1'], duplicates: 0 },
      { published: ['c1', 'c2', 'c3'], duplicates: 0 },
    ]);
    expect(db.calls).toEqual([
      { op: 'known', ids: ['a1', 'a2', 'b1', 'c1', 'c2', 'c3'] },
      { op: 'record', ids: ['a1', 'b1', 'c1', 'c2', 'c3'] },
    ]);
    expect(kafka.published.sort()).toEqual(['a1', 'b1', 'c1', 'c2', 'c3']);
    expect(dedup.claimed).toBe(0);
  });

  it('publishes before recording, and answers only once its own record is written', async () => {
    const db = fakeStore();
    const kafka = fakePublisher(db.log);
    const dedup = new EventDedup(db.store);
    const record = gate();
    db.holdRecord(record.promise);
    let answered = false;
    const answer = dedup.publishNew(ev('e1'), kafka.publish).then((a) => {
      answered = true;
      return a;
    });
    await until(() => db.calls.some((c) => c.op === 'record'));
    expect(kafka.published).toEqual(['e1']);
    expect(answered).toBe(false);
    record.open();
    expect((await answer).published).toEqual(ev('e1'));
    expect(db.log).toEqual(['publish e1', 'record e1']);
  });

  it('publishes an event id carried by two concurrent webhooks once; the other counts it a duplicate once it is recorded', async () => {
    const db = fakeStore();
    const kafka = fakePublisher(db.log);
    const dedup = new EventDedup(db.store);
    const record = gate();
    db.holdRecord(record.promise);
    let secondAnswered = false;
    const first = dedup.publishNew(ev('same', 'x'), kafka.publish);
    const second = dedup.publishNew(ev('same', 'y'), kafka.publish).then((a) => {
      secondAnswered = true;
      return a;
    });
    await until(() => db.calls.some((c) => c.op === 'record'));
    expect(secondAnswered).toBe(false);
    record.open();
    const [a, b] = await Promise.all([first, second]);
    expect(a).toEqual({ published: ev('same', 'x'), duplicates: 0 });
    expect(b).toEqual({ published: ev('y'), duplicates: 1 });
    expect(kafka.published.filter((id) => id === 'same')).toHaveLength(1);
    expect(db.calls[0]).toEqual({ op: 'known', ids: ['same', 'x', 'y'] });
  });

  it('counts an id repeated within one webhook as a duplicate', async () => {
    const db = fakeStore();
    const dedup = new EventDedup(db.store);
    const answer = await dedup.publishNew(ev('r', 'r', 's'), fakePublisher(db.log).publish);
    expect(answer).toEqual({ published: ev('r', 's'), duplicates: 1 });
  });

  it('fails every webhook of the round with the same error when the check fails, publishing nothing, and accepts their retries', async () => {
    const db = fakeStore();
    const kafka = fakePublisher(db.log);
    const dedup = new EventDedup(db.store);
    const down = new Error('the ingest database is unavailable');
    const check = gate();
    db.holdKnown(check.promise);
    const answers = [ev('f1'), ev('f2', 'f3'), ev('f1')].map((events) =>
      dedup.publishNew(events, kafka.publish).then(
        () => 'accepted',
        (error: unknown) => error,
      ),
    );
    await until(() => db.calls.length > 0);
    check.fail(down);
    expect(await Promise.all(answers)).toEqual([down, down, down]);
    expect(kafka.published).toEqual([]);
    expect(db.calls).toEqual([{ op: 'known', ids: ['f1', 'f2', 'f3'] }]);
    expect(dedup.claimed).toBe(0);

    db.holdKnown(undefined);
    const retried = await dedup.publishNew(ev('f1', 'f2', 'f3'), kafka.publish);
    expect(retried.published.map((e) => e.eventId)).toEqual(['f1', 'f2', 'f3']);
  });

  it('fails every webhook whose record failed, and the waiter on its id with it; a retry publishes again', async () => {
    const db = fakeStore();
    const kafka = fakePublisher(db.log);
    const dedup = new EventDedup(db.store);
    const record = gate();
    db.holdRecord(record.promise);
    const down = new Error('connection terminated');
    const answers = [ev('g1'), ev('g2'), ev('g1', 'g3')].map((events) =>
      dedup.publishNew(events, kafka.publish).then(
        (a) => a.published.map((e) => e.eventId),
        (error: unknown) => error,
      ),
    );
    await until(() => db.calls.some((c) => c.op === 'record'));
    record.fail(down);
    // The third published its own g3 (recorded in the same failed insert), and waited on g1.
    expect(await Promise.all(answers)).toEqual([down, down, down]);
    expect(db.ids.size).toBe(0);

    db.holdRecord(undefined);
    const retried = await dedup.publishNew(ev('g1', 'g3'), kafka.publish);
    expect(retried.published.map((e) => e.eventId)).toEqual(['g1', 'g3']);
    expect([...db.ids].sort()).toEqual(['g1', 'g3']);
  });

  it("fails a webhook waiting on another's id when the other's publish fails, and publishes it on the retry", async () => {
    const db = fakeStore();
    const kafka = fakePublisher(db.log);
    const dedup = new EventDedup(db.store);
    const kafkaDown = new Error('the event bus is unavailable');
    kafka.failNext(kafkaDown);
    const answers = [ev('h1'), ev('h1')].map((events) =>
      dedup.publishNew(events, kafka.publish).then(
        () => 'accepted',
        (error: unknown) => error,
      ),
    );
    expect(await Promise.all(answers)).toEqual([kafkaDown, kafkaDown]);
    expect(db.calls.filter((c) => c.op === 'record')).toEqual([]);
    expect((await dedup.publishNew(ev('h1'), kafka.publish)).published).toEqual(ev('h1'));
    expect(kafka.published).toEqual(['h1']);
  });

  it('treats a retry of an accepted delivery as a duplicate', async () => {
    const db = fakeStore();
    const kafka = fakePublisher(db.log);
    const dedup = new EventDedup(db.store);
    await dedup.publishNew(ev('k1', 'k2'), kafka.publish);
    expect(await dedup.publishNew(ev('k1', 'k2'), kafka.publish)).toEqual({ published: [], duplicates: 2 });
    expect(kafka.published).toEqual(['k1', 'k2']);
  });
});

describe(Batcher.name, () => {
  it('sends what arrives during a run together in the next run, each run within maxSize', async () => {
    const runs: number[][] = [];
    const first = gate();
    let held = true;
    const batcher = new Batcher<number[], number>({
      maxSize: 4,
      size: (r) => r.length,
      run: async (requests) => {
        runs.push(requests.flat());
        if (held) {
          held = false;
          await first.promise;
        }
        return requests.map((r) => r.length);
      },
    });
    const a = batcher.submit([1]);
    await until(() => runs.length === 1);
    const rest = [[2, 3], [4], [5, 6], [7]].map((r) => batcher.submit(r));
    expect(batcher.waiting).toBe(4);
    first.open();
    expect(await Promise.all([a, ...rest])).toEqual([1, 2, 1, 2, 1]);
    expect(runs).toEqual([[1], [2, 3, 4], [5, 6, 7]]);
  });

  it('runs a request larger than maxSize alone rather than never', async () => {
    const runs: number[][] = [];
    const batcher = new Batcher<number[], void>({
      maxSize: 2,
      size: (r) => r.length,
      run: async (requests) => {
        runs.push(requests.flat());
        return requests.map(() => undefined);
      },
    });
    await Promise.all([batcher.submit([1, 2, 3]), batcher.submit([4])]);
    expect(runs).toEqual([[1, 2, 3], [4]]);
  });

  it('rejects a run whose results do not match its requests, rather than answering the wrong caller', async () => {
    const batcher = new Batcher<number, number>({ maxSize: 10, size: () => 1, run: async () => [1] });
    const answers = await Promise.allSettled([batcher.submit(1), batcher.submit(2)]);
    expect(answers.map((a) => a.status)).toEqual(['rejected', 'rejected']);
  });
});

async function until(condition: () => boolean, timeoutMs = 2000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setImmediate(r));
  }
}
