import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createWriteStream, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A Node process this benchmark started; it is only ever signalled by its own PID. */
export interface NodeChild {
  name: string;
  pid: number;
  log: string;
  exited: Promise<number | null>;
  isAlive(): boolean;
  stop(graceMs?: number): Promise<number | null>;
}

/** Everything started here, so that an error or Ctrl-C can stop exactly these PIDs. */
export const children = new Set<NodeChild>();

/**
 * Starts `node [nodeArgs] --import tsx <script>` (or `node [nodeArgs] <args>` when `args` is
 * given) with only the given environment (plus PATH, HOME and locale), output to a log file.
 * The PID is node itself: tsx is a loader in-process.
 */
export function spawnNode(opts: {
  name: string;
  script: string;
  cwd: string;
  env: Record<string, string>;
  logDir: string;
  nodeArgs?: string[];
  /** What node runs, in place of `--import tsx <script>` (e.g. a bundle: `dist/main.mjs`). */
  args?: string[];
}): NodeChild {
  const log = join(opts.logDir, `${opts.name}.log`);
  const out = createWriteStream(log, { flags: 'a' });
  const base: Record<string, string> = {};
  for (const key of ['PATH', 'HOME', 'LANG', 'TZ', 'TMPDIR']) {
    const value = process.env[key];
    if (value !== undefined) base[key] = value;
  }
  const args = opts.args ?? ['--import', 'tsx', opts.script];
  const child: ChildProcess = spawn(process.execPath, [...(opts.nodeArgs ?? []), ...args], {
    cwd: opts.cwd,
    env: { ...base, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`${opts.name} could not be started`);
  const pid = child.pid;
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  let alive = true;
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code, signal) => {
      alive = false;
      resolve(code ?? (signal ? 128 : null));
    });
    child.once('error', () => {
      alive = false;
      resolve(-1);
    });
  });
  let stopping: Promise<number | null> | undefined;
  const handle: NodeChild = {
    name: opts.name,
    pid,
    log,
    exited,
    isAlive: () => alive,
    stop(graceMs = 20_000) {
      stopping ??= (async () => {
        if (alive) {
          process.kill(pid, 'SIGTERM');
          const timer = setTimeout(() => {
            if (alive) process.kill(pid, 'SIGKILL');
          }, graceMs);
          const code = await exited;
          clearTimeout(timer);
          out.end();
          children.delete(handle);
          return code;
        }
        children.delete(handle);
        return exited;
      })();
      return stopping;
    },
  };
  children.add(handle);
  return handle;
}

/** Polls `url` until it answers 200, failing early when the process exits. */
export async function waitHttpOk(url: string, child: NodeChild, timeoutMs = 90_000, intervalMs = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!child.isAlive()) {
      throw new Error(`${child.name} exited before it became ready; see ${child.log}`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`${child.name} not ready after ${timeoutMs / 1000} s (${url}); see ${child.log}`);
}

/** Resident set size of a process in bytes (VmRSS), or null once it is gone. */
export function rssBytes(pid: number): number | null {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/**
 * RSS of a process and its direct children (a service run as worker processes is its primary and
 * its workers, each with memory of its own), or null once the process is gone.
 */
export function treeRssBytes(pid: number): number | null {
  const own = rssBytes(pid);
  if (own === null) return null;
  let children: string[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {
    // Gone meanwhile, or a kernel without the children list: the process alone.
  }
  return children.reduce((sum, child) => sum + (rssBytes(Number(child)) ?? 0), own);
}

/** Samples the RSS of the registered processes (with their children) every `intervalMs` and keeps the peak per label. */
export class RssSampler {
  private readonly watched = new Map<string, number>();
  readonly peaks = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  samples = 0;
  constructor(private readonly intervalMs = 250) {}
  watch(label: string, pid: number) {
    this.watched.set(label, pid);
    this.sample();
  }
  unwatch(label: string) {
    this.sample();
    this.watched.delete(label);
  }
  start() {
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }
  stop() {
    clearInterval(this.timer);
  }
  private readonly windows = new Set<{ label: string; peak: number }>();
  /** Starts a window for `label`; the returned function ends it and gives the peak within it. */
  window(label: string): () => number {
    const w = { label, peak: 0 };
    this.windows.add(w);
    this.sample();
    return () => {
      this.sample();
      this.windows.delete(w);
      return w.peak || Number.NaN;
    };
  }
  private sample() {
    this.samples += 1;
    for (const [label, pid] of this.watched) {
      const rss = treeRssBytes(pid);
      if (rss === null) continue;
      if (rss > (this.peaks.get(label) ?? 0)) this.peaks.set(label, rss);
      for (const w of this.windows) if (w.label === label && rss > w.peak) w.peak = rss;
    }
  }
  peak(label: string): number {
    return this.peaks.get(label) ?? Number.NaN;
  }
}

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

interface ProcStat {
  ppid: number;
  /** utime + stime of the process itself, in ticks. */
  own: number;
  /** stime alone: time in the kernel (syscalls, loopback TCP). */
  sys: number;
  /** cutime + cstime: children that already exited and were waited for. */
  reaped: number;
  reapedSys: number;
}

function procStat(pid: number): ProcStat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return {
      ppid: Number(fields[1]),
      own: Number(fields[11]) + Number(fields[12]),
      sys: Number(fields[12]),
      reaped: Number(fields[13]) + Number(fields[14]),
      reapedSys: Number(fields[14]),
    };
  } catch {
    return null;
  }
}

/**
 * CPU seconds (total and in the kernel) used by a process, with `tree` also by its direct
 * children (live, or already exited and reaped: PostgreSQL backends, the esbuild helper of tsx).
 */
function cpuSeconds(pid: number, tree: boolean, all: Map<number, ProcStat>): { total: number; sys: number } {
  const root = all.get(pid);
  if (!root) return { total: Number.NaN, sys: Number.NaN };
  let ticks = root.own;
  let sys = root.sys;
  if (tree) {
    ticks += root.reaped;
    sys += root.reapedSys;
    for (const [, stat] of all) {
      if (stat.ppid !== pid) continue;
      ticks += stat.own;
      sys += stat.sys;
    }
  }
  return { total: ticks / ticksPerSecond(), sys: sys / ticksPerSecond() };
}

function allStats(): Map<number, ProcStat> {
  const out = new Map<number, ProcStat>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(Number(entry));
    if (stat) out.set(Number(entry), stat);
  }
  return out;
}

/** Busy and total jiffies of the whole machine (/proc/stat, all CPUs). */
function machineTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const total = values.reduce((a, b) => a + b, 0);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  return { busy: total - idle, total };
}

export interface CpuSnapshot {
  at: number;
  machine: { busy: number; total: number };
  byLabel: Record<string, { total: number; sys: number }>;
}

/**
 * Where the cores went during a phase: CPU seconds per labelled process tree between two
 * snapshots, as "cores used" (CPU seconds / wall seconds). The benchmark process itself (load
 * generator, SSE client, pollers) is `bench`.
 */
export function cpuSnapshot(processes: Record<string, { pid: number; tree: boolean }>): CpuSnapshot {
  const all = allStats();
  const byLabel: CpuSnapshot['byLabel'] = {};
  for (const [label, { pid, tree }] of Object.entries(processes)) byLabel[label] = cpuSeconds(pid, tree, all);
  return { at: performance.now(), machine: machineTicks(), byLabel };
}

/**
 * Cores in use per label over the window, plus `<label>.sys` (the part spent in the kernel),
 * `machine` (all busy cores) and `other` (busy cores not accounted to any label: processes
 * outside this run).
 */
export function coresUsed(before: CpuSnapshot, after: CpuSnapshot, cores: number): Record<string, number> {
  const wall = (after.at - before.at) / 1000;
  const out: Record<string, number> = {};
  let accounted = 0;
  for (const [label, now] of Object.entries(after.byLabel)) {
    const start = before.byLabel[label];
    if (!start || !Number.isFinite(start.total) || !Number.isFinite(now.total)) continue;
    const used = (now.total - start.total) / wall;
    out[label] = round2(used);
    out[`${label}.sys`] = round2((now.sys - start.sys) / wall);
    accounted += used;
  }
  const dTotal = after.machine.total - before.machine.total;
  const busyShare = dTotal > 0 ? (after.machine.busy - before.machine.busy) / dTotal : Number.NaN;
  out.machine = round2(busyShare * cores);
  out.other = round2(Math.max(0, out.machine - accounted));
  return out;
}

const round2 = (v: number) => Math.round(v * 100) / 100;
