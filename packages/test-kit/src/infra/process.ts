import { type ChildProcess, spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { createWriteStream, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

export type Log = (line: string) => void;

/** A server process this code started itself; it is only ever stopped by its own PID. */
export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  /** Resolves once the process has exited (after SIGTERM, then SIGKILL past the grace period). */
  stop(graceMs?: number): Promise<void>;
  /** Resolves with the exit code when the process ends by itself or by stop(). */
  readonly exited: Promise<number | null>;
}

export function spawnManaged(
  name: string,
  command: string,
  args: string[],
  opts: { logFile: string; env?: NodeJS.ProcessEnv; cwd?: string; stopSignal?: NodeJS.Signals },
): ManagedProcess {
  const out = createWriteStream(opts.logFile, { flags: 'a' });
  const child: ChildProcess = spawn(command, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  if (child.pid === undefined) throw new Error(`${name} could not be started (${command}): is it installed?`);
  const pid = child.pid;
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', () => resolve(-1));
  });
  let stopping: Promise<void> | undefined;
  return {
    name,
    pid,
    exited,
    stop(graceMs = 20_000) {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill(opts.stopSignal ?? 'SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
        out.end();
      })();
      return stopping;
    },
  };
}

/**
 * Where `freePort` looks: below the kernel's ephemeral range. A port the kernel hands out (to an
 * outgoing connection — a Kafka or PostgreSQL client — or to another process listening on port 0)
 * comes from that range, so one chosen below it stays free between this answer and the caller's
 * listen(), even on a busy machine running several suites at once.
 */
function portRange(): [number, number] | null {
  let ephemeralLow = 32768;
  try {
    ephemeralLow = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  } catch {
    // Not Linux: the usual default.
  }
  return Number.isInteger(ephemeralLow) && ephemeralLow > 21_000 ? [20_000, ephemeralLow] : null;
}

/** Ports this process handed out: never twice (a stopped server's port may still be in TIME_WAIT). */
const handedOut = new Set<number>();

/** A free loopback port, outside the kernel's ephemeral range where it can (`portRange`). */
export async function freePort(): Promise<number> {
  const range = portRange();
  for (let attempt = 0; range && attempt < 100; attempt += 1) {
    const port = randomInt(range[0], range[1]);
    if (handedOut.has(port) || (await portInUse(port))) continue;
    handedOut.add(port);
    return port;
  }
  return kernelPort();
}

/** Asks the kernel for a free loopback port. */
function kernelPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

export async function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(true));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(false)));
  });
}

/** Polls `probe` until it resolves true or the deadline passes; the error says what was awaited. */
export async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  opts: { timeoutMs: number; intervalMs?: number; exited?: Promise<number | null> },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let dead = false;
  opts.exited?.then(() => {
    dead = true;
  });
  while (Date.now() < deadline) {
    if (dead) throw new Error(`${what}: the process exited before it became ready`);
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 250));
  }
  throw new Error(`${what}: not ready after ${Math.round(opts.timeoutMs / 1000)} s`);
}
