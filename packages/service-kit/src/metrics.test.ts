import { pino } from 'pino';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { createHttpApp } from './http.js';
import { createMetricsRegistry, registerInfoMetric } from './metrics.js';

type Row = { app_id: string; owner: string };

/** A source of pages the test controls: what it holds now, how often it was read, and failures. */
function source(initial: Row[][]) {
  const state = {
    pages: initial,
    reads: 0,
    fail: false as false | Error,
    gate: undefined as Promise<void> | undefined,
  };
  return {
    state,
    async *read() {
      state.reads += 1;
      if (state.gate) await state.gate;
      if (state.fail) throw state.fail;
      for (const page of state.pages) {
        await new Promise((r) => setImmediate(r));
        yield page;
      }
    },
  };
}

function setup(pages: Row[][], refreshSeconds = 60) {
  const registry = createMetricsRegistry('info-test');
  const clock = { t: 1_000_000 };
  const logged: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => logged.push(line) });
  const src = source(pages);
  registerInfoMetric({
    registry,
    name: 'thing_info',
    help: 'One series per thing',
    labelNames: ['app_id', 'owner'] as const,
    refreshSeconds,
    logger,
    now: () => clock.t,
    read: () => src.read(),
  });
  const app = createHttpApp({ logger, registry, components: () => [] }, () => {});
  const scrape = async () => {
    const res = await request(app).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    return res.text;
  };
  const series = (text: string) => text.split('\n').filter((l) => l.startsWith('thing_info{'));
  return { registry, clock, logged, src, scrape, series };
}

describe(registerInfoMetric.name, () => {
  it('serves every row as one series after the registry’s own metrics, labels escaped, with the service label', async () => {
    const { scrape, series } = setup([
      [
        { app_id: 'app_1', owner: 'rita@example.com' },
        { app_id: 'app_2', owner: 'a "quoted" \\ back\nslash' },
      ],
      [{ app_id: 'app_3', owner: '' }],
    ]);
    const text = await scrape();
    expect(series(text)).toEqual([
      'thing_info{app_id="app_1",owner="rita@example.com",service="info-test"} 1',
      'thing_info{app_id="app_2",owner="a \\"quoted\\" \\\\ back\\nslash",service="info-test"} 1',
      'thing_info{app_id="app_3",owner="",service="info-test"} 1',
    ]);
    // One family, declared once, after the registry's own (process metrics come first).
    expect(text.match(/^# TYPE thing_info gauge$/gm)).toHaveLength(1);
    expect(text).toContain('# HELP thing_info One series per thing\n');
    expect(text.indexOf('process_cpu_user_seconds_total')).toBeLessThan(text.indexOf('# HELP thing_info'));
    expect(text.endsWith('\n')).toBe(true);
  });

  it('reads once per refresh interval; a stale scrape is served the kept series and refreshes them behind it', async () => {
    const { scrape, series, src, clock } = setup([[{ app_id: 'app_1', owner: 'a' }]], 60);
    expect(series(await scrape())).toHaveLength(1);
    src.state.pages = [[{ app_id: 'app_1', owner: 'b' }], [{ app_id: 'app_2', owner: 'c' }]];
    clock.t += 59_000;
    expect(series(await scrape())).toEqual(['thing_info{app_id="app_1",owner="a",service="info-test"} 1']);
    expect(src.state.reads).toBe(1);

    clock.t += 1_000;
    let release!: () => void;
    src.state.gate = new Promise((r) => {
      release = r;
    });
    // Stale: answered at once with what was kept while the read runs.
    expect(series(await scrape())).toEqual(['thing_info{app_id="app_1",owner="a",service="info-test"} 1']);
    expect(src.state.reads).toBe(2);
    // A second stale scrape during that read starts no other read.
    await scrape();
    expect(src.state.reads).toBe(2);
    release();
    src.state.gate = undefined;
    await expect
      .poll(async () => series(await scrape()))
      .toEqual([
        'thing_info{app_id="app_1",owner="b",service="info-test"} 1',
        'thing_info{app_id="app_2",owner="c",service="info-test"} 1',
      ]);
    expect(src.state.reads).toBe(2);
  });

  it('concurrent first scrapes share one read', async () => {
    const { scrape, series, src } = setup([[{ app_id: 'app_1', owner: 'a' }]]);
    const texts = await Promise.all([scrape(), scrape(), scrape()]);
    for (const text of texts) expect(series(text)).toHaveLength(1);
    expect(src.state.reads).toBe(1);
  });

  it('keeps the last series when a read fails, logs it without the error text in the scrape, and tries again', async () => {
    const { scrape, series, src, clock, logged } = setup([[{ app_id: 'app_1', owner: 'a' }]], 60);
    await scrape();
    src.state.fail = new Error('connection refused by the database');
    clock.t += 60_000;
    const during = await scrape();
    expect(series(during)).toHaveLength(1);
    await expect.poll(() => logged.join('')).toContain('serving its last series');
    expect(during).not.toContain('connection refused');
    // The failed read did not count as fresh: the next scrape reads again.
    src.state.fail = false;
    src.state.pages = [[{ app_id: 'app_9', owner: 'z' }]];
    await scrape();
    await expect
      .poll(async () => series(await scrape()))
      .toEqual(['thing_info{app_id="app_9",owner="z",service="info-test"} 1']);
  });

  it('with no series read yet a failed read leaves the family empty, and the next scrape reads again', async () => {
    const { scrape, series, src, logged } = setup([[{ app_id: 'app_1', owner: 'a' }]]);
    src.state.fail = new Error('down');
    const text = await scrape();
    expect(series(text)).toEqual([]);
    expect(text).toContain('# TYPE thing_info gauge');
    expect(logged.join('')).toContain('no series yet');
    src.state.fail = false;
    expect(series(await scrape())).toHaveLength(1);
    expect(src.state.reads).toBe(2);
  });

  it('reads again after a read that fails before its first page (a source that throws at once)', async () => {
    const registry = createMetricsRegistry('info-test');
    let calls = 0;
    const clock = { t: 0 };
    registerInfoMetric({
      registry,
      name: 'thing_info',
      help: 'h',
      labelNames: ['app_id'] as const,
      refreshSeconds: 60,
      logger: pino({ level: 'silent' }),
      now: () => clock.t,
      read: () => {
        calls += 1;
        if (calls === 1) throw new Error('no connection');
        return (async function* () {
          yield [{ app_id: 'app_1' }];
        })();
      },
    });
    const app = createHttpApp({ logger: pino({ level: 'silent' }), registry, components: () => [] }, () => {});
    expect((await request(app).get('/metrics')).text).not.toContain('thing_info{');
    expect((await request(app).get('/metrics')).text).toContain('thing_info{app_id="app_1",service="info-test"} 1');
    expect(calls).toBe(2);
  });

  it('refuses a name or label Prometheus could not parse', () => {
    const registry = createMetricsRegistry('info-test');
    const base = {
      registry,
      help: 'h',
      refreshSeconds: 60,
      logger: pino({ level: 'silent' }),
      read: async function* () {},
    };
    expect(() => registerInfoMetric({ ...base, name: 'bad-name', labelNames: ['a'] as const })).toThrow(
      /not a metric name/,
    );
    expect(() => registerInfoMetric({ ...base, name: 'ok', labelNames: ['bad label'] as const })).toThrow(
      /not a label name/,
    );
  });
});
