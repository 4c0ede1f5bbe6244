import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, get, type IncomingHttpHeaders } from 'node:http';
import { getPriority, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitFor } from '@micro-oncall/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { WORKER_NICENESS } from '../src/workers.js';

// A replica run as WORKER_PROCESSES processes, as main.ts runs every service: the primary forks
// the workers and accepts for them; each answers as a whole replica, /metrics is the pod's sum,
// SIGTERM stops them all, and a worker that dies takes the pod down (exit 1) for a restart.

const here = dirname(fileURLToPath(import.meta.url));
const started: ChildProcess[] = [];

afterEach(() => {
  for (const child of started.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/** A GET on its own connection (no keep-alive), so the primary hands each to a worker in turn. */
function fetchText(
  port: number,
  path: string,
): Promise<{ status: number; body: string; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path, agent: new Agent({ keepAlive: false }) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    }).on('error', reject);
  });
}

/** The fixture replica as its own process, with its output collected. */
function spawnReplica(
  workers: number,
  port: number,
  env: Record<string, string>,
): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'fixtures', 'workers-replica.ts')], {
    env: {
      ...process.env,
      // The settings every service shares, which the entry checks (nothing here connects to them).
      DATABASE_URL: 'postgres://fixture@127.0.0.1:1/none',
      KAFKA_BROKERS: '127.0.0.1:1',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      SHUTDOWN_TIMEOUT_MS: '2000',
      ...env,
      WORKER_PROCESSES: String(workers),
      PORT: String(port),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString('utf8');
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  return { child, output: () => output };
}

async function startReplica(
  workers: number,
  env: Record<string, string> = {},
): Promise<{ child: ChildProcess; port: number; output: () => string }> {
  const port = await freePort();
  const { child, output } = spawnReplica(workers, port, env);
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  await waitFor('the replica to answer', async () => (await fetchText(port, '/pid')).status === 200, {
    timeoutMs: 30_000,
    exited,
  }).catch((error: Error) => {
    throw new Error(`${error.message}\n${output()}`);
  });
  return { child, port, output };
}

/** Runs the replica until it exits by itself (a start-up failure): its exit code and output. */
async function runToExit(
  workers: number,
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  const { child, output } = spawnReplica(workers, await freePort(), env);
  // 'close': the process has exited and its output is all read.
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, output: output() };
}

/** `requests` GETs of /pid, each on its own connection; the pids that answered, by count. */
async function answeringPids(port: number, requests: number): Promise<Map<number, number>> {
  const pids = new Map<number, number>();
  for (let i = 0; i < requests; i += 1) {
    const { body } = await fetchText(port, '/pid');
    const pid = (JSON.parse(body) as { pid: number }).pid;
    pids.set(pid, (pids.get(pid) ?? 0) + 1);
  }
  return pids;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const [code] = (await once(child, 'exit')) as [number | null];
  return code;
}

describe('WORKER_PROCESSES', () => {
  it('1 runs the replica in the process itself', async () => {
    const loadedDir = mkdtempSync(join(tmpdir(), 'workers-loaded-'));
    try {
      const { child, port } = await startReplica(1, { LOADED_DIR: loadedDir });
      const pids = await answeringPids(port, 4);
      expect([...pids.keys()]).toEqual([child.pid]);
      expect(readdirSync(loadedDir)).toEqual([String(child.pid)]);
      child.kill('SIGTERM');
      expect(await exitOf(child)).toBe(0);
    } finally {
      rmSync(loadedDir, { recursive: true, force: true });
    }
  });

  it('2 answers from two worker processes, sums their metrics, and stops both on SIGTERM; the primary never loads the service', async () => {
    const loadedDir = mkdtempSync(join(tmpdir(), 'workers-loaded-'));
    const { child, port } = await startReplica(2, { LOADED_DIR: loadedDir });
    // The primary hands connections only to workers that listen: the second may still be starting.
    await waitFor('both workers to answer', async () => (await answeringPids(port, 4)).size === 2, {
      timeoutMs: 30_000,
    });
    // Once both listen, round robin gives each a share.
    const pids = await answeringPids(port, 20);
    expect(pids.size).toBe(2);
    expect(pids.has(child.pid as number)).toBe(false);
    // The service module was loaded by the two workers and by nobody else: not by the primary.
    const loaded = readdirSync(loadedDir).map(Number);
    rmSync(loadedDir, { recursive: true, force: true });
    expect(loaded.sort()).toEqual([...pids.keys()].sort());
    for (const count of pids.values()) expect(count).toBeGreaterThan(0);
    // The workers run at a lower priority than the primary, whose accepting must not wait for them.
    for (const pid of pids.keys()) {
      expect(getPriority(pid)).toBe(Math.min(19, getPriority(child.pid as number) + WORKER_NICENESS));
    }

    const metrics = await fetchText(port, '/metrics');
    expect(metrics.status).toBe(200);
    // Every /pid answered by either worker (these 20, and those before).
    const hits = /^fixture_hits_total\{service="workers-replica"\} (\d+)$/m.exec(metrics.body);
    expect(hits, metrics.body.slice(0, 2000)).not.toBeNull();
    const total = Number(hits?.[1]);
    expect(total).toBeGreaterThanOrEqual(21);
    // A second scrape, whichever worker answers it, sees the same sum.
    const again = /^fixture_hits_total\{service="workers-replica"\} (\d+)$/m.exec(
      (await fetchText(port, '/metrics')).body,
    );
    expect(Number(again?.[1])).toBe(total);

    child.kill('SIGTERM');
    expect(await exitOf(child)).toBe(0);
    for (const pid of pids.keys()) expect(alive(pid)).toBe(false);
  });

  it('a bad shared setting ends the primary at once with status 1, naming the setting, before any worker starts', async () => {
    const loadedDir = mkdtempSync(join(tmpdir(), 'workers-loaded-'));
    try {
      const { code, output } = await runToExit(2, { WORKER_MAX_WAIT_MS: '0', LOADED_DIR: loadedDir });
      expect(code).toBe(1);
      expect(output).toContain('WORKER_MAX_WAIT_MS');
      expect(readdirSync(loadedDir)).toEqual([]);
    } finally {
      rmSync(loadedDir, { recursive: true, force: true });
    }
  });

  it('an entry point that loads another service than it names fails to start (status 1), whatever the processes', async () => {
    for (const workers of [1, 2]) {
      const { code, output } = await runToExit(workers, { FIXTURE_NAME: 'another-service' });
      expect(code, output).toBe(1);
      expect(output).toContain('the entry point runs \\"workers-replica\\" but loaded \\"another-service\\"');
    }
  });

  it('a worker that dies stops the others and the primary exits 1, for the container to restart', async () => {
    const { child, port, output } = await startReplica(2);
    let pids: number[] = [];
    await waitFor(
      'both workers to answer',
      async () => {
        pids = [...(await answeringPids(port, 4)).keys()];
        return pids.length === 2;
      },
      { timeoutMs: 30_000 },
    );
    expect(pids).toHaveLength(2);
    process.kill(pids[0] as number, 'SIGKILL');
    expect(await exitOf(child)).toBe(1);
    expect(alive(pids[1] as number)).toBe(false);
    expect(output()).toMatch(/worker \d+ \(pid \d+\) exited with signal SIGKILL; stopping the other workers/);
  });

  it('2: when it expects no worker to take a new connection in time, the primary answers 503 itself at once, and loses none it handed on', async () => {
    const blockDir = mkdtempSync(join(tmpdir(), 'workers-block-'));
    try {
      const { child, port } = await startReplica(2, { WORKER_MAX_WAIT_MS: '500', BLOCK_DIR: blockDir });
      await waitFor('both workers to answer', async () => (await answeringPids(port, 4)).size === 2, {
        timeoutMs: 30_000,
      });
      // A burst of new connections to idle workers is taken, none refused: they are many, but each
      // worker takes one per turn of its idle loop.
      const burst = await Promise.all(Array.from({ length: 32 }, () => fetchText(port, '/pid')));
      expect(burst.map((answer) => answer.status)).toEqual(Array(32).fill(200));

      // Hold both workers' event loops, as saturation does: neither takes another connection.
      const held = [fetchText(port, '/block'), fetchText(port, '/block')];
      await waitFor('both workers to hold their loops', async () => readdirSync(blockDir).length === 2, {
        timeoutMs: 30_000,
      });
      // New connections wait for them until the oldest has waited 500 ms; from then on the primary
      // answers new ones itself, while the workers still hold.
      const waited: Array<Promise<{ status: number; body: string; headers: IncomingHttpHeaders }>> = [];
      let refused: { status: number; body: string; headers: IncomingHttpHeaders } | undefined;
      await waitFor(
        'the primary to refuse a new connection',
        async () => {
          const answer = fetchText(port, '/pid');
          const first = await Promise.race([answer, new Promise<null>((r) => setTimeout(() => r(null), 200))]);
          if (first === null) waited.push(answer);
          else refused = first;
          return first !== null;
        },
        { timeoutMs: 30_000 },
      );
      expect(waited.length).toBeGreaterThan(0);
      const more = await Promise.all(Array.from({ length: 5 }, () => fetchText(port, '/pid')));
      for (const answer of [refused, ...more]) {
        expect(answer?.status).toBe(503);
        expect(answer?.headers['retry-after']).toBe('1');
        expect(answer?.headers.connection).toBe('close');
        expect(JSON.parse(answer?.body ?? '')).toMatchObject({ error: { code: 'overloaded' } });
      }
      expect(readdirSync(blockDir)).not.toContain('release');
      // The kubelet's probes are not refused: the pod is busy, not dead, and still serving.
      for (const probe of ['/health/live', '/health/ready']) {
        const answer = await fetchText(port, probe);
        expect(answer.status, probe).toBe(200);
        expect(JSON.parse(answer.body)).toEqual({ status: 'busy' });
      }

      writeFileSync(join(blockDir, 'release'), '');
      for (const answer of await Promise.all(held)) expect(answer.status).toBe(200);
      // Every connection a worker was handed is answered by it.
      for (const answer of await Promise.all(waited)) expect(answer.status).toBe(200);

      // The pod's metrics count the primary's refusals (not the probes' answers).
      const metrics = await fetchText(port, '/metrics');
      expect(metrics.body).toMatch(/^worker_connections_refused_total\{service="workers-replica"\} 6$/m);
      expect(metrics.body).toMatch(/^worker_connections_waiting\{service="workers-replica"\} 0$/m);

      child.kill('SIGTERM');
      expect(await exitOf(child)).toBe(0);
    } finally {
      rmSync(blockDir, { recursive: true, force: true });
    }
  });

  it('2: SIGTERM closes the port at once and lets a request in flight finish', async () => {
    const blockDir = mkdtempSync(join(tmpdir(), 'workers-block-'));
    try {
      const { child, port } = await startReplica(2, { BLOCK_DIR: blockDir });
      const held = fetchText(port, '/block');
      await waitFor('a worker to hold', async () => readdirSync(blockDir).length === 1, { timeoutMs: 30_000 });
      child.kill('SIGTERM');
      await waitFor(
        'the port to close',
        () =>
          fetchText(port, '/pid').then(
            () => false,
            (error: NodeJS.ErrnoException) => error.code === 'ECONNREFUSED',
          ),
        { timeoutMs: 30_000 },
      );
      writeFileSync(join(blockDir, 'release'), '');
      expect((await held).status).toBe(200);
      expect(await exitOf(child)).toBe(0);
    } finally {
      rmSync(blockDir, { recursive: true, force: true });
    }
  });
});
