// Pinned command-line tools built from source with Go: helm, conftest and opa for the chart and
// policy checks, Prometheus Alertmanager for the tests (and `npm start`) that need a real one.
//
// They are built from the Go module proxy, because it is the one distribution channel every
// machine we run on can reach (no GitHub release downloads, no Docker). GOPATH, the module cache
// and the build cache live under .cache/go so nothing leaks into the user's home directory; the
// binaries go to .cache/tools/bin. A stamp file next to each binary records exactly what was built
// (package, version, link flags); a tool is rebuilt only when its binary or stamp is missing or
// the pin below changes. A lock file next to it makes a second process (another vitest worker,
// a chart check run by hand) wait for the build in progress instead of starting its own.
//
// This lives in the test-kit, not in scripts/, because the test-kit's launchers build what they
// start on first use (packages never import scripts/); scripts/lib/tools.ts re-exports it.
import { spawn } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import type { Log } from './process.js';
import { REPO_ROOT } from './stack.js';

export type ToolName = 'helm' | 'conftest' | 'opa' | 'alertmanager';

/**
 * Built from the module's source tree with `go build` instead of `go install`: for a module that
 * cannot be installed as published (Alertmanager's embeds a web UI its module does not ship).
 */
interface SourceBuild {
  module: string;
  /** Package directory inside the module, as `go build` takes it. */
  dir: string;
  tags: string[];
  /** Why `go install` does not work, for the stamp and the docs. */
  reason: string;
  /** Makes the copied (writable) source tree buildable. */
  prepare(sourceDir: string): void;
}

interface ToolPin {
  /** Package path passed to `go install` (for a source build: the package that is built). */
  pkg: string;
  version: string;
  /** Minimum Go version the module's go.mod asks for. */
  minGo: string;
  /** Link flags used by the project's own release builds (version strings, Kubernetes version). */
  ldflags: string[];
  /** First-build time measured on 2 cores with empty Go caches (module downloads included). */
  estimate: string;
  source?: SourceBuild;
}

export const toolsBinDir = join(REPO_ROOT, '.cache', 'tools', 'bin');
const goDir = join(REPO_ROOT, '.cache', 'go');

/** The page Alertmanager serves at `/` and `/ui/` in our builds, where its web UI would be. */
const ALERTMANAGER_UI_PLACEHOLDER = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Alertmanager (API only)</title></head>
<body><h1>Alertmanager</h1>
<p>This Alertmanager was built from its Go module source for micro-oncall's development and tests,
without its web UI (the module does not ship the built UI). The API is complete:
<a href="api/v2/status">/api/v2/status</a>, <a href="api/v2/alerts">/api/v2/alerts</a>,
<a href="api/v2/silences">/api/v2/silences</a>.</p></body></html>
`;

/**
 * `ui/web.go` embeds `app/dist` (`//go:embed app/dist`), which the module does not contain, so a
 * plain `go install` fails with "pattern app/dist: no matching files found". The embed needs one
 * file; the UI handlers serve `app/dist/{elm,mantine}/index.html` only pre-compressed (.gz, .br),
 * so those get the placeholder page too and `/` explains itself instead of answering 404.
 */
function writeAlertmanagerUiPlaceholder(sourceDir: string): void {
  const dist = join(sourceDir, 'ui', 'app', 'dist');
  mkdirSync(dist, { recursive: true });
  writeFileSync(join(dist, 'index.html'), ALERTMANAGER_UI_PLACEHOLDER);
  for (const app of ['elm', 'mantine']) {
    const dir = join(dist, app);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'index.html.gz'), gzipSync(ALERTMANAGER_UI_PLACEHOLDER));
    writeFileSync(join(dir, 'index.html.br'), brotliCompressSync(ALERTMANAGER_UI_PLACEHOLDER));
  }
}

/**
 * Pins. To upgrade: change the version, check `go list -m -versions <module>` serves it and that
 * its go.mod `go` line is not newer than the Go we require, then run the chart checks (or the
 * Alertmanager test) once. Helm's Kubernetes version (1.37) follows the k8s.io/client-go v0.37
 * that helm v3.22.0 uses, as helm's Makefile does; without it `helm template` would claim
 * Kubernetes 1.20. Alertmanager's link flags and `netgo` tag are those of its `.promu.yml`
 * (revision and build date left out: the module carries no commit, and the stamp must not change
 * from one build to the next).
 */
export const toolPins: Record<ToolName, ToolPin> = {
  helm: {
    pkg: 'helm.sh/helm/v3/cmd/helm',
    version: 'v3.22.0',
    minGo: '1.26.0',
    ldflags: [
      '-X helm.sh/helm/v3/internal/version.version=v3.22.0',
      '-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1',
      '-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=37',
      '-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1',
      '-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=37',
    ],
    estimate: '~5 min',
  },
  conftest: {
    pkg: 'github.com/open-policy-agent/conftest',
    version: 'v0.71.1',
    minGo: '1.26.8',
    ldflags: ['-X github.com/open-policy-agent/conftest/internal/version.Version=0.71.1'],
    estimate: '~5 min',
  },
  opa: {
    pkg: 'github.com/open-policy-agent/opa',
    version: 'v1.22.2',
    minGo: '1.26.0',
    ldflags: [],
    estimate: '~2 min once conftest is built',
  },
  alertmanager: {
    pkg: 'github.com/prometheus/alertmanager/cmd/alertmanager',
    version: 'v0.35.0',
    minGo: '1.26.0',
    ldflags: [
      '-X github.com/prometheus/common/version.Version=0.35.0',
      '-X github.com/prometheus/common/version.Branch=v0.35.0',
      '-X github.com/prometheus/common/version.BuildUser=micro-oncall',
    ],
    estimate: '~2 min',
    source: {
      module: 'github.com/prometheus/alertmanager',
      dir: './cmd/alertmanager',
      tags: ['netgo'],
      reason: 'ui/app/dist placeholder (the module does not ship the built web UI that ui/web.go embeds)',
      prepare: writeAlertmanagerUiPlaceholder,
    },
  },
};

/** Environment variable that points at an already installed binary instead of building one. */
export function overrideVariable(name: ToolName): string {
  return `MICRO_ONCALL_${name.toUpperCase()}`;
}

/** What the stamp next to a binary says; any change to the pin rebuilds the tool. */
export function stampOf(name: ToolName): string {
  const pin = toolPins[name];
  const base = `${pin.pkg}@${pin.version} ldflags=${['-s', '-w', ...pin.ldflags].join(' ')}`;
  if (!pin.source) return `${base}\n`;
  return `${base} tags=${pin.source.tags.join(',')} source-build=${pin.source.reason}\n`;
}

const inFlight = new Map<ToolName, Promise<string>>();

/**
 * Returns the path of the pinned `name` binary, building it first if it is missing or stale.
 * Concurrent calls in one process share one build; other processes wait on the build lock.
 */
export function ensureTool(name: ToolName, log: Log): Promise<string> {
  let pending = inFlight.get(name);
  if (!pending) {
    pending = ensureToolOnce(name, log);
    inFlight.set(name, pending);
    pending.catch(() => inFlight.delete(name));
  }
  return pending;
}

function builtAndCurrent(name: ToolName): string | undefined {
  const bin = join(toolsBinDir, name);
  const stampFile = join(toolsBinDir, `.${name}.stamp`);
  if (!existsSync(bin) || !existsSync(stampFile)) return undefined;
  return readFileSync(stampFile, 'utf8') === stampOf(name) ? bin : undefined;
}

async function ensureToolOnce(name: ToolName, log: Log): Promise<string> {
  const pin = toolPins[name];
  const override = process.env[overrideVariable(name)];
  if (override) {
    if (!existsSync(override)) {
      throw new Error(`${overrideVariable(name)}=${override} does not exist; unset it to build ${name} ${pin.version}`);
    }
    return override;
  }
  const ready = builtAndCurrent(name);
  if (ready) return ready;

  const goVersion = await detectGo();
  if (!goVersion) {
    throw new Error(
      `${name} ${pin.version} is built from source and needs Go ${pin.minGo} or newer on PATH, which was not found. ` +
        `Install Go (https://go.dev/dl/) and re-run, or set ${overrideVariable(name)} to an existing ${name} ${pin.version} binary.`,
    );
  }
  if (compareVersions(goVersion, pin.minGo) < 0 && process.env.GOTOOLCHAIN === 'local') {
    throw new Error(
      `${name} ${pin.version} needs Go ${pin.minGo} or newer; this is Go ${goVersion} with GOTOOLCHAIN=local. ` +
        `Upgrade Go, unset GOTOOLCHAIN so Go can fetch a newer toolchain, or set ${overrideVariable(name)}.`,
    );
  }

  mkdirSync(toolsBinDir, { recursive: true });
  return withBuildLock(join(toolsBinDir, `.${name}.lock`), `${name} ${pin.version}`, log, async () => {
    // Another process may have finished the build while this one waited for the lock.
    const builtMeanwhile = builtAndCurrent(name);
    if (builtMeanwhile) return builtMeanwhile;
    const how = pin.source ? 'from its module source with go build' : 'with go install';
    log(`building ${name} ${pin.version} ${how} (first run only, ${pin.estimate})`);
    const started = Date.now();
    const heartbeat = setInterval(() => {
      log(`  still building ${name} ${pin.version} (${Math.round((Date.now() - started) / 1000)} s)`);
    }, 30_000);
    const bin = join(toolsBinDir, name);
    try {
      if (pin.source) await buildFromSource(name, pin, pin.source, bin);
      else await goInstall(name, pin);
    } finally {
      clearInterval(heartbeat);
    }
    if (!existsSync(bin)) throw new Error(`the Go build reported success but ${bin} is missing`);
    const stampFile = join(toolsBinDir, `.${name}.stamp`);
    const tmp = `${stampFile}.${process.pid}`;
    writeFileSync(tmp, stampOf(name));
    renameSync(tmp, stampFile);
    log(`built ${name} ${pin.version} in ${Math.round((Date.now() - started) / 1000)} s -> ${bin}`);
    return bin;
  });
}

function goEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GOBIN: toolsBinDir,
    GOPATH: goDir,
    GOMODCACHE: join(goDir, 'mod'),
    GOCACHE: join(goDir, 'build'),
    CGO_ENABLED: '0',
    GOFLAGS: '-buildvcs=false',
  };
}

/** A directory outside any module, so that go commands ignore the caller's go.mod/go.work. */
function neutralDir(): string {
  const cwd = join(goDir, 'tmp');
  mkdirSync(cwd, { recursive: true });
  return cwd;
}

function goFailure(what: string, result: RunResult, name: ToolName): Error {
  const pin = toolPins[name];
  const tail = result.output.trim().split('\n').slice(-25).join('\n');
  return new Error(
    `${what} failed (exit ${result.code}):\n${tail}\n` +
      'Check that the Go module proxy is reachable (GOPROXY) and that the disk has ~2 GB free under .cache/go; ' +
      `or set ${overrideVariable(name)} to an existing ${name} ${pin.version} binary.`,
  );
}

async function goInstall(name: ToolName, pin: ToolPin): Promise<void> {
  const args = [
    'install',
    '-trimpath',
    '-ldflags',
    ['-s', '-w', ...pin.ldflags].join(' '),
    `${pin.pkg}@${pin.version}`,
  ];
  const result = await run('go', args, { env: goEnv(), cwd: neutralDir() });
  if (result.code !== 0) throw goFailure(`go install ${pin.pkg}@${pin.version}`, result, name);
}

/**
 * `go mod download` fetches the module (checked against go.sum's checksum database like any
 * module), its read-only tree is copied to a scratch folder, prepared, and built there. The
 * scratch folder is removed afterwards; the module and build caches stay for the next build.
 */
async function buildFromSource(name: ToolName, pin: ToolPin, source: SourceBuild, bin: string): Promise<void> {
  const env = goEnv();
  const ref = `${source.module}@${pin.version}`;
  const download = await run('go', ['mod', 'download', '-json', ref], { env, cwd: neutralDir() });
  let moduleDir: string | undefined;
  try {
    const info = JSON.parse(download.stdout) as { Dir?: string; Error?: string };
    if (info.Error) throw new Error(info.Error);
    moduleDir = info.Dir;
  } catch (error) {
    if (download.code === 0)
      throw new Error(`go mod download ${ref} printed no module folder: ${(error as Error).message}`);
  }
  if (download.code !== 0 || !moduleDir) throw goFailure(`go mod download ${ref}`, download, name);

  const scratch = join(goDir, 'src', `${name}-${pin.version}-${process.pid}`);
  rmSync(scratch, { recursive: true, force: true });
  try {
    cpSync(moduleDir, scratch, { recursive: true });
    makeWritable(scratch);
    source.prepare(scratch);
    const tmpBin = `${bin}.${process.pid}.tmp`;
    const args = [
      'build',
      '-trimpath',
      '-tags',
      source.tags.join(','),
      '-ldflags',
      ['-s', '-w', ...pin.ldflags].join(' '),
      '-o',
      tmpBin,
      source.dir,
    ];
    const result = await run('go', args, { env, cwd: scratch });
    if (result.code !== 0) {
      rmSync(tmpBin, { force: true });
      throw goFailure(`go build ${source.dir} in ${ref}`, result, name);
    }
    renameSync(tmpBin, bin);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The module cache is read-only by design; the copy must not be (placeholders, removal). */
function makeWritable(path: string): void {
  const stat = statSync(path);
  chmodSync(path, stat.mode | 0o200);
  if (!stat.isDirectory()) return;
  for (const entry of readdirSync(path)) makeWritable(join(path, entry));
}

const LOCK_WAIT_MS = 30 * 60_000;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Runs `fn` holding a lock file that names this process. A lock whose process is gone (a build
 * that was killed) is taken over. The lock only saves a second build: builds write the binary
 * and stamp under temporary names and rename them, and Go's caches are safe for concurrent use,
 * so even two builds at once (a lock taken over at the same moment) leave a sound binary.
 */
export async function withBuildLock<T>(lockFile: string, what: string, log: Log, fn: () => Promise<T>): Promise<T> {
  const started = Date.now();
  let lastNotice = 0;
  for (;;) {
    try {
      writeFileSync(lockFile, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    let holder: number;
    try {
      holder = Number.parseInt(readFileSync(lockFile, 'utf8'), 10);
    } catch {
      continue; // released between our attempt and the read
    }
    if (!Number.isInteger(holder) || holder <= 0 || !processAlive(holder)) {
      log(`taking over the build lock of ${what} (its process ${holder} is gone)`);
      rmSync(lockFile, { force: true });
      continue;
    }
    const waited = Date.now() - started;
    if (waited > LOCK_WAIT_MS) {
      throw new Error(
        `waited ${Math.round(waited / 60_000)} min for process ${holder} to finish building ${what}; ` +
          `stop it or remove ${lockFile} if it is stuck`,
      );
    }
    if (Date.now() - lastNotice >= 30_000) {
      log(`waiting for process ${holder}, which is building ${what} (${Math.round(waited / 1000)} s so far)`);
      lastNotice = Date.now();
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  try {
    return await fn();
  } finally {
    rmSync(lockFile, { force: true });
  }
}

async function detectGo(): Promise<string | undefined> {
  try {
    const result = await run('go', ['env', 'GOVERSION'], { env: process.env, cwd: REPO_ROOT });
    if (result.code !== 0) return undefined;
    return result.stdout.trim().replace(/^go/, '');
  } catch {
    return undefined;
  }
}

/** Compares dotted numeric versions ("1.26.8" vs "1.26.0"); pre-release suffixes are ignored. */
export function compareVersions(a: string, b: string): number {
  const pa = a
    .split(/[^0-9]+/)
    .filter(Boolean)
    .map(Number);
  const pb = b
    .split(/[^0-9]+/)
    .filter(Boolean)
    .map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export interface RunResult {
  code: number;
  /** stdout and stderr interleaved, as a person would see them. */
  output: string;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion and collects its output; rejects only if it cannot start. */
export function run(
  command: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: opts.cwd ?? REPO_ROOT,
      env: opts.env ?? process.env,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let output = '';
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      output += chunk;
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      output += chunk;
    });
    const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined;
    child.once('error', (error) => {
      if (timer) clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), output, stdout, stderr });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}
