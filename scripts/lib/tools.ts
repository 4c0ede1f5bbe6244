// Pinned command-line tools for the chart and policy checks (helm, conftest, opa).
//
// They are built from source with `go install <module>@<version>` into .cache/tools/bin, because
// the Go module proxy is the one distribution channel every machine we run on can reach (no
// GitHub release downloads, no Docker). GOPATH, the module cache and the build cache live under
// .cache/go so nothing leaks into the user's home directory. A stamp file next to each binary
// records exactly what was built (module, version, link flags); a tool is rebuilt only when its
// binary or stamp is missing or the pin below changes.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type ToolName = 'helm' | 'conftest' | 'opa';

interface ToolPin {
  /** Package path passed to `go install`. */
  pkg: string;
  version: string;
  /** Minimum Go version the module's go.mod asks for. */
  minGo: string;
  /** Link flags used by the project's own release builds (version strings, Kubernetes version). */
  ldflags: string[];
  /** First-build time measured on 2 cores with empty Go caches (module downloads included). */
  estimate: string;
}

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const toolsBinDir = join(repoRoot, '.cache', 'tools', 'bin');
const goDir = join(repoRoot, '.cache', 'go');

/**
 * Pins. To upgrade: change the version, check `go list -m -versions <module>` serves it and that
 * its go.mod `go` line is not newer than the Go we require, then run the chart checks once.
 * Helm's Kubernetes version (1.37) follows the k8s.io/client-go v0.37 that helm v3.22.0 uses, as
 * helm's Makefile does; without it `helm template` would claim Kubernetes 1.20.
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
};

/** Environment variable that points at an already installed binary instead of building one. */
export function overrideVariable(name: ToolName): string {
  return `MICRO_ONCALL_${name.toUpperCase()}`;
}

function stampOf(name: ToolName): string {
  const pin = toolPins[name];
  return `${pin.pkg}@${pin.version} ldflags=${['-s', '-w', ...pin.ldflags].join(' ')}\n`;
}

const inFlight = new Map<ToolName, Promise<string>>();

/**
 * Returns the path of the pinned `name` binary, building it first if it is missing or stale.
 * Concurrent calls in one process share one build.
 */
export function ensureTool(name: ToolName, log: (line: string) => void): Promise<string> {
  let pending = inFlight.get(name);
  if (!pending) {
    pending = ensureToolOnce(name, log);
    inFlight.set(name, pending);
    pending.catch(() => inFlight.delete(name));
  }
  return pending;
}

async function ensureToolOnce(name: ToolName, log: (line: string) => void): Promise<string> {
  const pin = toolPins[name];
  const override = process.env[overrideVariable(name)];
  if (override) {
    if (!existsSync(override)) {
      throw new Error(`${overrideVariable(name)}=${override} does not exist; unset it to build ${name} ${pin.version}`);
    }
    return override;
  }

  const bin = join(toolsBinDir, name);
  const stampFile = join(toolsBinDir, `.${name}.stamp`);
  const wanted = stampOf(name);
  if (existsSync(bin) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === wanted) return bin;

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
  log(`building ${name} ${pin.version} with go install (first run only, ${pin.estimate})`);
  const started = Date.now();
  const heartbeat = setInterval(() => {
    log(`  still building ${name} ${pin.version} (${Math.round((Date.now() - started) / 1000)} s)`);
  }, 30_000);
  try {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      GOBIN: toolsBinDir,
      GOPATH: goDir,
      GOMODCACHE: join(goDir, 'mod'),
      GOCACHE: join(goDir, 'build'),
      CGO_ENABLED: '0',
      GOFLAGS: '-buildvcs=false',
    };
    const args = [
      'install',
      '-trimpath',
      '-ldflags',
      ['-s', '-w', ...pin.ldflags].join(' '),
      `${pin.pkg}@${pin.version}`,
    ];
    // A temporary directory outside any module, so go install ignores the caller's go.mod/go.work.
    const cwd = join(goDir, 'tmp');
    mkdirSync(cwd, { recursive: true });
    const result = await run('go', args, { env, cwd });
    if (result.code !== 0) {
      const tail = result.output.trim().split('\n').slice(-25).join('\n');
      throw new Error(
        `go install ${pin.pkg}@${pin.version} failed (exit ${result.code}):\n${tail}\n` +
          'Check that the Go module proxy is reachable (GOPROXY) and that the disk has ~2 GB free under .cache/go; ' +
          `or set ${overrideVariable(name)} to an existing ${name} ${pin.version} binary.`,
      );
    }
  } finally {
    clearInterval(heartbeat);
  }
  if (!existsSync(bin)) throw new Error(`go install reported success but ${bin} is missing`);
  const tmp = `${stampFile}.${process.pid}`;
  writeFileSync(tmp, wanted);
  renameSync(tmp, stampFile);
  log(`built ${name} ${pin.version} in ${Math.round((Date.now() - started) / 1000)} s -> ${bin}`);
  return bin;
}

async function detectGo(): Promise<string | undefined> {
  try {
    const result = await run('go', ['env', 'GOVERSION'], { env: process.env, cwd: repoRoot });
    if (result.code !== 0) return undefined;
    return result.output.trim().replace(/^go/, '');
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
      cwd: opts.cwd ?? repoRoot,
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
