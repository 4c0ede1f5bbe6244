import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type BrowserSession,
  browserSession,
  freePort,
  launchChromium,
  REPO_ROOT,
  SCREENSHOTS_DIR as SCREENSHOTS,
} from '@micro-oncall/test-kit';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The README's path for a newcomer, run as they would run it: `npm start` (its own PostgreSQL,
 * Kafka, identity provider, fake provider APIs and every service, with demo data), sign in on
 * the development sign-in page, act on a demo incident in the dashboard, see it in the audit log
 * as an admin, restart without duplicating anything, and stop with SIGTERM to the top process,
 * leaving nothing running. Only the ports and the data folder differ from a plain `npm start`,
 * through the environment variables the README documents, so it can run beside a developer's own.
 */

interface Started {
  npm: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** Every process below `pid` (children, grandchildren, …), from one `ps` snapshot. */
function descendants(pid: number): number[] {
  const table = execFileSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number) as [number, number]);
  const found: number[] = [];
  const walk = (parent: number) => {
    for (const [child, ppid] of table) {
      if (ppid === parent) {
        found.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return found;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await fn();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

describe('a newcomer following the README', () => {
  const devDir = mkdtempSync(join(tmpdir(), 'mo-newcomer-'));
  const ports: Record<string, number> = {};
  let browser: Browser;
  let session: BrowserSession;
  const running: Started[] = [];

  beforeAll(async () => {
    for (const name of [
      'PORT',
      'ESCALATION_PORT',
      'INGEST_PORT',
      'DEV_ISSUER_PORT',
      'POSTGRES_PORT',
      'KAFKA_PORT',
      'KAFKA_CONTROLLER_PORT',
    ]) {
      ports[name] = await freePort();
    }
    browser = await launchChromium();
    session = browserSession(browser, { base: base() });
  });

  afterAll(async () => {
    await session?.close();
    await browser?.close();
    // A failed test must not leave a platform behind: stop what is still running, by PID —
    // gracefully first (npm start stops PostgreSQL and Kafka itself), then whatever remains.
    for (const started of running) {
      if (!started.npm.pid || !alive(started.npm.pid)) continue;
      const tree = descendants(started.npm.pid);
      process.kill(started.npm.pid, 'SIGTERM');
      await until('a failed platform to stop', () => (tree.some(alive) ? undefined : true), 90_000).catch(() => {
        for (const pid of tree.filter(alive)) process.kill(pid, 'SIGKILL');
      });
    }
    rmSync(devDir, { recursive: true, force: true });
  });

  /** `npm start` as a person runs it, with the documented port and folder variables. */
  async function npmStart(): Promise<Started> {
    const env: NodeJS.ProcessEnv = { ...process.env, MICRO_ONCALL_DEV_DIR: devDir, LOG_LEVEL: 'warn' };
    // The test run's own servers must not be picked up: npm start brings its own.
    delete env.DATABASE_URL;
    delete env.KAFKA_BROKERS;
    for (const [name, port] of Object.entries(ports)) env[name] = String(port);
    const npm = spawn('npm', ['start'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer) => {
      output += chunk.toString('utf8');
    };
    npm.stdout?.on('data', keep);
    npm.stderr?.on('data', keep);
    const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
    const started = { npm, output: () => output, exited };
    running.push(started);
    await until(
      'npm start to say it is running',
      () => {
        if (npm.exitCode !== null) throw new Error(`npm start exited ${npm.exitCode}:\n${output.slice(-4000)}`);
        return /micro-oncall is running/.test(output) ? true : undefined;
      },
      240_000,
    );
    return started;
  }

  /** SIGTERM to the top process; resolves once it and everything it started are gone. */
  async function stopWithSigterm(started: Started) {
    const pid = started.npm.pid!;
    const tree = descendants(pid);
    expect(tree.length).toBeGreaterThan(3); // bootstrap, the start script, PostgreSQL, Kafka, …
    process.kill(pid, 'SIGTERM');
    await started.exited;
    // Each service's stop is bounded (SHUTDOWN_TIMEOUT_MS per part), then PostgreSQL and Kafka
    // stop; on a loaded machine the JVM alone can take a while.
    await until('every process npm start started to end', () => (tree.some(alive) ? undefined : true), 180_000).catch(
      (error: Error) => {
        const left = tree.filter(alive).map((p) => {
          try {
            return `${p} ${execFileSync('ps', ['-o', 'args=', '-p', String(p)], { encoding: 'utf8' })
              .trim()
              .slice(0, 160)}`;
          } catch {
            return String(p);
          }
        });
        throw new Error(
          `${error.message}; still running:\n${left.join('\n')}\n--- output:\n${started.output().slice(-3000)}`,
        );
      },
    );
    for (const [name, port] of Object.entries(ports)) {
      const free = await new Promise<boolean>((resolve) => {
        const probe = createServer();
        probe.once('error', () => resolve(false));
        probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
      });
      expect(free, `${name} ${port} is free again`).toBe(true);
    }
  }

  // The product's one host (the gateway, as the Ingress in a cluster): the address README gives.
  const base = () => `http://127.0.0.1:${ports.PORT}`;

  /** Through the product's host, as the README's curl example does. */
  async function timelineOf(title: string): Promise<number> {
    const token = readFileSync(join(devDir, 'viewer.token'), 'utf8').trim();
    const headers = { authorization: `Bearer ${token}` };
    const list = (await (await fetch(`${base()}/v1/incidents?limit=100`, { headers })).json()) as {
      items: { id: string; title: string }[];
    };
    const incident = list.items.find((i) => i.title === title);
    if (!incident) throw new Error(`no demo incident titled ${title}`);
    const detail = (await (await fetch(`${base()}/v1/incidents/${incident.id}`, { headers })).json()) as {
      events: unknown[];
    };
    return detail.events.length;
  }

  it('starts, signs in, acts on an incident, audits it, restarts idempotently and stops on SIGTERM', {
    timeout: 600_000,
  }, async () => {
    const first = await npmStart();
    expect(first.output()).toContain(`dashboard       ${base()}/`);

    const ada = await session.signIn('Ada Responder');
    // One product: the status page is a click away, signed in already, with the demo provider.
    await ada.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Status' }).click();
    await ada.getByRole('heading', { level: 1, name: 'Provider status' }).waitFor();
    await ada
      .locator('table.matrix tr[data-service="checkout"] .component', { hasText: 'CDN/Cache' })
      .getByText('partial outage')
      .waitFor({ timeout: 30_000 });
    await ada.getByText('DEMO: elevated 5xx errors on the CDN edge').waitFor();
    await ada.screenshot({ path: join(SCREENSHOTS, 'newcomer-status.png'), fullPage: true });
    await ada.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Incidents' }).click();
    await ada.locator('#who').getByText('Ada Responder').waitFor();
    const title = 'Refund queue backlog above 10k messages';
    await ada.getByRole('link', { name: title }).click();
    await ada.getByRole('heading', { level: 1, name: title }).waitFor();
    const message = ada.locator('.action-message');
    await ada.getByRole('button', { name: 'Acknowledge' }).click();
    await message.getByText('Acknowledge sent to PagerDuty').waitFor({ timeout: 20_000 });
    await ada.getByRole('form', { name: 'Escalate' }).getByLabel('Level').fill('2');
    await ada.getByRole('form', { name: 'Escalate' }).getByRole('button', { name: 'Escalate' }).click();
    await message.getByText('Escalate sent to PagerDuty').waitFor({ timeout: 20_000 });
    // Resolving ends the incident for everyone: the button asks for a second click.
    await ada.getByRole('button', { name: 'Resolve' }).click();
    await ada.getByRole('button', { name: 'Click again to resolve' }).click();
    await message.getByText('Resolve sent to PagerDuty').waitFor({ timeout: 20_000 });
    await ada.screenshot({ path: join(SCREENSHOTS, 'newcomer-actions.png'), fullPage: true });

    // The audit view needs the admin role (README): Alex sees Ada's three actions.
    const alex = await session.signIn('Alex Admin', { path: '/audit' });
    for (const action of ['acknowledge', 'escalate', 'resolve']) {
      await alex
        .locator('table.audit-table tbody tr', { hasText: action })
        .filter({ hasText: 'ada@example.com' })
        .first()
        .waitFor({ timeout: 20_000 });
    }
    await alex.screenshot({ path: join(SCREENSHOTS, 'newcomer-audit.png'), fullPage: true });
    const eventsBefore = await timelineOf(title);

    await stopWithSigterm(first);

    // Data persists; the demo webhooks are sent again as the very same deliveries and dropped.
    const second = await npmStart();
    expect(await timelineOf(title)).toBe(eventsBefore);
    await stopWithSigterm(second);
  });
});
