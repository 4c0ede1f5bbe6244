import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger, createMetricsRegistry, type Registry } from '@micro-oncall/service-kit';
import { temporaryDirectories } from '@micro-oncall/test-kit/temp';
import { afterEach, describe, expect, it } from 'vitest';
import type { Mapping } from './config/mapping.js';
import { createMappingWatcher, type MappingWatcher, type MappingWatcherOptions } from './mapping-reload.js';

const cdn = { pageId: 'cloudflare', id: 'cdn1', name: 'CDN Edge', group: null };

const rule = (services: string, component = 'CDN Edge') =>
  `mappings:\n  cdn:\n    page: cloudflare\n    component: ${component}\n    services: [${services}]\n`;

/** Line 7 names a page the sources file does not have. */
const BROKEN = `mappings:
  cdn:
    page: cloudflare
    component: CDN Edge
    services: [frontend]
  dns:
    page: nowhere
    component: DNS
    services: [api]
`;

async function metric(registry: Registry, name: string, labels = ''): Promise<number> {
  const line = (await registry.metrics()).split('\n').find((l) => l.startsWith(`${name}${labels}`));
  return Number(line?.split(' ').at(-1));
}

describe(createMappingWatcher.name, () => {
  const tempDir = temporaryDirectories();
  const watchers: MappingWatcher[] = [];
  afterEach(async () => {
    await Promise.all(watchers.splice(0).map((w) => w.stop()));
  });

  function setup(text: string, opts: Partial<MappingWatcherOptions> = {}) {
    const dir = tempDir('status-mapper-reload-');
    const file = join(dir, 'mapping.yml');
    writeFileSync(file, text);
    const logs: { level: string; msg: string; problems?: string[] }[] = [];
    const registry = createMetricsRegistry('status-mapper-test');
    const changes: { previous: Mapping; next: Mapping }[] = [];
    const watcher = createMappingWatcher({
      file,
      knownPages: ['cloudflare'],
      intervalMs: 60_000,
      settleMs: 0,
      logger: createLogger({ service: 'test', destination: { write: (line: string) => logs.push(JSON.parse(line)) } }),
      registry,
      onChange: async (previous, next) => {
        changes.push({ previous, next });
      },
      ...opts,
    });
    watchers.push(watcher);
    return { dir, file, watcher, logs, registry, changes };
  }

  it('swaps in a valid new file: the next use sees it, and the change is announced from the old mapping', async () => {
    const { file, watcher, changes, registry } = setup(rule('frontend'));
    const before = watcher.state();
    expect(watcher.current().servicesFor(cdn)).toEqual(['frontend']);

    writeFileSync(file, rule('frontend, checkout'));
    expect(await watcher.check()).toBe('applied');

    expect(watcher.current().servicesFor(cdn)).toEqual(['checkout', 'frontend']);
    expect(watcher.state()).toMatchObject({ file, lastReloadError: null });
    expect(watcher.state().hash).not.toBe(before.hash);
    expect(changes).toHaveLength(1);
    expect(changes[0]!.previous.servicesFor(cdn)).toEqual(['frontend']);
    expect(changes[0]!.next.servicesFor(cdn)).toEqual(['checkout', 'frontend']);
    expect(await metric(registry, 'status_mapper_mapping_reloads_total', '{outcome="applied"')).toBe(1);
    // Nothing new on disk: nothing applied, nothing announced.
    expect(await watcher.check()).toBe('unchanged');
    expect(changes).toHaveLength(1);
  });

  it('keeps the previous mapping when the new file is invalid, reporting each problem with its line once', async () => {
    const { file, watcher, logs, registry, changes } = setup(rule('frontend'));
    const inForce = watcher.state().hash;

    writeFileSync(file, BROKEN);
    expect(await watcher.check()).toBe('rejected');
    expect(watcher.current().servicesFor(cdn)).toEqual(['frontend']);
    const state = watcher.state();
    expect(state.hash).toBe(inForce);
    expect(state.lastReloadError?.problems).toEqual([
      'line 7: mappings.dns.page: no page "nowhere" in the sources file',
    ]);
    expect(await metric(registry, 'status_mapper_mapping_reload_failing')).toBe(1);
    expect(await metric(registry, 'status_mapper_mapping_reloads_total', '{outcome="rejected"')).toBe(1);
    const errors = () => logs.filter((l) => l.level === 'error');
    expect(errors()).toHaveLength(1);
    expect(errors()[0]!.msg).toMatch(/previous mapping stays in force: .*line 7: mappings\.dns\.page/);

    // Left as it is, it is not reported again.
    expect(await watcher.check()).toBe('rejected');
    expect(errors()).toHaveLength(1);
    expect(changes).toHaveLength(0);

    // Fixed: applied, and the error and the gauge clear.
    writeFileSync(file, rule('checkout'));
    expect(await watcher.check()).toBe('applied');
    expect(watcher.current().servicesFor(cdn)).toEqual(['checkout']);
    expect(watcher.state().lastReloadError).toBeNull();
    expect(await metric(registry, 'status_mapper_mapping_reload_failing')).toBe(0);
  });

  it('clears the error when the file goes back to the mapping in force', async () => {
    const { file, watcher } = setup(rule('frontend'));
    writeFileSync(file, 'mappings: [unclosed\n');
    expect(await watcher.check()).toBe('rejected');
    expect(watcher.state().lastReloadError?.problems[0]).toMatch(/^line \d+: /);
    writeFileSync(file, rule('frontend'));
    expect(await watcher.check()).toBe('unchanged');
    expect(watcher.state().lastReloadError).toBeNull();
  });

  it('keeps the previous mapping while the file cannot be read', async () => {
    const { file, watcher } = setup(rule('frontend'));
    rmSync(file);
    expect(await watcher.check()).toBe('rejected');
    expect(watcher.state().lastReloadError).toMatchObject({ hash: null, problems: ['cannot read: ENOENT'] });
    expect(watcher.current().servicesFor(cdn)).toEqual(['frontend']);
  });

  it('follows a Kubernetes ConfigMap update (a new directory, then an atomic swap of the ..data symlink) on its own', async () => {
    // The kubelet's layout: mapping.yml -> ..data/mapping.yml, ..data -> ..<timestamp>/
    const dir = tempDir('status-mapper-configmap-');
    mkdirSync(join(dir, '..2026_01_16_08_00_00.1'));
    writeFileSync(join(dir, '..2026_01_16_08_00_00.1', 'mapping.yml'), rule('frontend'));
    symlinkSync('..2026_01_16_08_00_00.1', join(dir, '..data'));
    symlinkSync('..data/mapping.yml', join(dir, 'mapping.yml'));
    const changes: Mapping[] = [];
    const watcher = createMappingWatcher({
      file: join(dir, 'mapping.yml'),
      knownPages: ['cloudflare'],
      intervalMs: 50,
      logger: createLogger({ service: 'test', level: 'silent' }),
      registry: createMetricsRegistry('status-mapper-test'),
      onChange: async (_previous, next) => {
        changes.push(next);
      },
    });
    watchers.push(watcher);
    await watcher.start?.();

    mkdirSync(join(dir, '..2026_01_16_08_05_00.2'));
    writeFileSync(join(dir, '..2026_01_16_08_05_00.2', 'mapping.yml'), rule('checkout'));
    symlinkSync('..2026_01_16_08_05_00.2', join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    rmSync(join(dir, '..2026_01_16_08_00_00.1'), { recursive: true });

    await expect.poll(() => watcher.current().servicesFor(cdn), { timeout: 5_000 }).toEqual(['checkout']);
    expect(changes.map((m) => m.servicesFor(cdn))).toEqual([['checkout']]);
  });

  it('does not apply a file caught while it is being written', async () => {
    const { file, watcher } = setup(rule('frontend'), { settleMs: 200 });
    writeFileSync(file, rule('frontend, checkout'));
    const checking = watcher.check();
    setTimeout(() => writeFileSync(file, rule('frontend, checkout, search')), 50);
    expect(await checking).toBe('unsettled');
    expect(watcher.current().servicesFor(cdn)).toEqual(['frontend']);
    expect(await watcher.check()).toBe('applied');
    expect(watcher.current().servicesFor(cdn)).toEqual(['checkout', 'frontend', 'search']);
  });

  it('announces again at the next check, from the mapping never announced, when announcing failed', async () => {
    const seen: [string[], string[]][] = [];
    let fail = true;
    const { file, watcher } = setup(rule('frontend'), {
      onChange: async (previous, next) => {
        seen.push([previous.servicesFor(cdn), next.servicesFor(cdn)]);
        if (fail) throw new Error('database unavailable');
      },
    });
    writeFileSync(file, rule('checkout'));
    expect(await watcher.check()).toBe('applied');
    writeFileSync(file, rule('search'));
    fail = false;
    expect(await watcher.check()).toBe('applied');
    // The second announcement covers both reloads: frontend → search.
    expect(seen).toEqual([
      [['frontend'], ['checkout']],
      [['frontend'], ['search']],
    ]);
  });

  it('refuses to start with an invalid file, naming the line', () => {
    expect(() => setup(BROKEN)).toThrowError(/line 7: mappings\.dns\.page: no page "nowhere"/);
  });
});
