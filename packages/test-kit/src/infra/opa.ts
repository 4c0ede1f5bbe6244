import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, type Log, spawnManaged, waitFor } from './process.js';
import { REPO_ROOT } from './stack.js';
import { ensureTool } from './tools.js';

/** app-registry's policies (Rego), as OPA serves them to the service. */
export const APP_REGISTRY_POLICY_DIR = join(REPO_ROOT, 'policies', 'app-registry');

export interface LocalOpa {
  /** Base URL of OPA's REST API, e.g. http://127.0.0.1:41234 (decisions: POST /v1/data/...). */
  url: string;
  port: number;
  pid: number;
  /** The folder OPA loads (and, with `watch`, reloads when a file in it changes): a copy unless `inPlace`. */
  policyDir: string;
  logFile: string;
  /** Stops the process this call started (by its PID) and removes its folder. */
  stop(): Promise<void>;
}

export interface StartOpaOptions {
  /** The opa binary. Default: the pinned one, built from source on first use (infra/tools.ts). */
  binary?: string;
  /** Policies to serve: copied into a folder of this OPA's own (tests `*_test.rego` left out). Default: app-registry's. */
  policyDir?: string;
  /** Reload the policies when a file in `policyDir` changes (`opa run --watch`). Default false. */
  watch?: boolean;
  /**
   * Serve `policyDir` itself rather than a copy (npm start: an edit in the repository reaches
   * OPA with `watch`). Default false: tests change their own copy.
   */
  inPlace?: boolean;
  /** Default: a free loopback port. */
  port?: number;
  log?: Log;
}

function tail(file: string, lines = 20): string {
  if (!existsSync(file)) return '';
  return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n');
}

/**
 * Starts OPA as a server on 127.0.0.1 with a copy of the policies (so a test can change them
 * without touching the repository), and waits until it answers `/health`. OPA is what the
 * app-registry chart runs as a sidecar (docs/adr/0013-app-registry-policy-evaluation.md).
 */
export async function startOpa(opts: StartOpaOptions): Promise<LocalOpa> {
  const log = opts.log ?? ((line: string) => console.log(`[opa] ${line}`));
  const binary = opts.binary ?? (await ensureTool('opa', log));
  if (!existsSync(binary)) throw new Error(`no opa binary at ${binary}`);
  const dir = mkdtempSync(join(tmpdir(), 'micro-oncall-opa-'));
  const source = opts.policyDir ?? APP_REGISTRY_POLICY_DIR;
  const policyDir = opts.inPlace ? source : join(dir, 'policies');
  if (!opts.inPlace) {
    mkdirSync(policyDir);
    cpSync(source, policyDir, { recursive: true, filter: (file) => !file.endsWith('_test.rego') });
  }
  const logFile = join(dir, 'opa.log');
  const port = opts.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const proc = spawnManaged(
    'opa',
    binary,
    [
      'run',
      '--server',
      `--addr=127.0.0.1:${port}`,
      '--disable-telemetry',
      '--log-level=error',
      ...(opts.watch ? ['--watch'] : []),
      // The policies' unit tests are for `opa test`, not for serving.
      '--ignore=*_test.rego',
      policyDir,
    ],
    { logFile },
  );
  const cleanUp = async () => {
    await proc.stop(10_000);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(`OPA on ${url}`, async () => (await fetch(`${url}/health`)).ok, {
      timeoutMs: 30_000,
      intervalMs: 100,
      exited: proc.exited,
    });
  } catch (error) {
    const output = tail(logFile);
    await cleanUp();
    throw new Error(`${(error as Error).message}${output ? `\nits log:\n${output}` : ''}`);
  }
  log(`OPA on ${url} (pid ${proc.pid}) serving ${opts.inPlace ? source : `a copy of ${source}`}`);
  let stopped: Promise<void> | undefined;
  return {
    url,
    port,
    pid: proc.pid,
    policyDir,
    logFile,
    stop() {
      stopped ??= cleanUp();
      return stopped;
    },
  };
}
