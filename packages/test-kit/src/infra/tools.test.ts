import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { renderAlertmanagerConfig, TEST_ROUTE_DEFAULTS } from './alertmanager.js';
import { compareVersions, stampOf, toolPins, withBuildLock } from './tools.js';

describe('tool stamps', () => {
  it('keep the format of the binaries already built, so an upgrade of this file rebuilds nothing', () => {
    expect(stampOf('opa')).toBe('github.com/open-policy-agent/opa@v1.22.2 ldflags=-s -w\n');
    expect(stampOf('conftest')).toBe(
      'github.com/open-policy-agent/conftest@v0.71.1 ldflags=-s -w -X github.com/open-policy-agent/conftest/internal/version.Version=0.71.1\n',
    );
  });

  it('say that Alertmanager is a source build with the UI placeholder, at its pinned version', () => {
    expect(toolPins.alertmanager.version).toBe('v0.35.0');
    const stamp = stampOf('alertmanager');
    expect(stamp).toMatch(/^github\.com\/prometheus\/alertmanager\/cmd\/alertmanager@v0\.35\.0 /);
    expect(stamp).toContain('-X github.com/prometheus/common/version.Version=0.35.0');
    expect(stamp).toContain('tags=netgo');
    expect(stamp).toContain('source-build=ui/app/dist placeholder');
  });

  it('compare Go versions numerically', () => {
    expect(compareVersions('1.26.8', '1.26.0')).toBeGreaterThan(0);
    expect(compareVersions('1.26', '1.26.0')).toBe(0);
    expect(compareVersions('1.9.0', '1.26.0')).toBeLessThan(0);
  });
});

describe('withBuildLock', () => {
  let dir: string;
  let lock: string;
  const lines: string[] = [];
  const log = (line: string) => lines.push(line);
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tools-lock-'));
    lock = join(dir, '.tool.lock');
    lines.length = 0;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('runs one holder at a time and releases the lock afterwards, also when the build fails', async () => {
    const order: string[] = [];
    const build = (name: string, fail = false) =>
      withBuildLock(lock, 'tool v1', log, async () => {
        order.push(`${name} start`);
        expect(readFileSync(lock, 'utf8').trim()).toBe(String(process.pid));
        await new Promise((r) => setTimeout(r, 50));
        order.push(`${name} end`);
        if (fail) throw new Error(`${name} failed`);
        return name;
      });
    const results = await Promise.allSettled([build('a', true), build('b')]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([
      'a failed',
      'b',
    ]);
    expect(order).toEqual(['a start', 'a end', 'b start', 'b end']);
    expect(existsSync(lock)).toBe(false);
  });

  it('takes over the lock of a build whose process is gone', async () => {
    // Above the largest PID Linux (2^22) and macOS (99999) hand out: no such process can exist.
    const gone = 4_194_305;
    writeFileSync(lock, `${gone}\n`);
    await expect(withBuildLock(lock, 'tool v1', log, async () => 'built')).resolves.toBe('built');
    expect(lines).toEqual([`taking over the build lock of tool v1 (its process ${gone} is gone)`]);
  });
});

describe('renderAlertmanagerConfig', () => {
  const receivers = [{ name: 'ingest', webhook_configs: [{ url: 'http://127.0.0.1:1/hook' }] }, { name: 'other' }];

  it('routes to the first receiver with timers small enough for tests', () => {
    const config = JSON.parse(renderAlertmanagerConfig({ receivers }));
    expect(config.route).toEqual({ ...TEST_ROUTE_DEFAULTS, receiver: 'ingest' });
    expect(config.receivers).toEqual(receivers);
  });

  it('keeps what the caller sets on the route', () => {
    const config = JSON.parse(
      renderAlertmanagerConfig({ receivers, route: { receiver: 'other', group_by: ['...'], repeat_interval: '4h' } }),
    );
    expect(config.route).toMatchObject({
      receiver: 'other',
      group_by: ['...'],
      repeat_interval: '4h',
      group_wait: '500ms',
    });
  });

  it('refuses a configuration without receivers', () => {
    expect(() => renderAlertmanagerConfig({ receivers: [] })).toThrow(/at least one receiver/);
  });
});
