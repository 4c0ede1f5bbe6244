import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, type Log, spawnManaged, waitFor } from './process.js';
import { ensureTool, toolPins } from './tools.js';

/** The Alertmanager release the tests run against (built from source, see infra/tools.ts). */
export const ALERTMANAGER_VERSION = toolPins.alertmanager.version;

// The configuration, typed after Alertmanager's own alertmanager.yml (same names, snake_case), for
// the parts tests and `npm start` use. https://prometheus.io/docs/alerting/latest/configuration/

export interface AlertmanagerHttpConfig {
  basic_auth?: { username: string; password?: string; password_file?: string };
  /** `type` defaults to Bearer. */
  authorization?: { type?: string; credentials?: string; credentials_file?: string };
  follow_redirects?: boolean;
}

export interface AlertmanagerWebhookConfig {
  /** One of url / url_file. */
  url?: string;
  url_file?: string;
  /** Default true. */
  send_resolved?: boolean;
  /** 0 = all; alerts beyond it are left out and counted in the payload's truncatedAlerts. */
  max_alerts?: number;
  /** A Go duration ("10s"); 0 = none. */
  timeout?: string;
  http_config?: AlertmanagerHttpConfig;
}

export interface AlertmanagerReceiver {
  name: string;
  webhook_configs?: AlertmanagerWebhookConfig[];
}

export interface AlertmanagerRoute {
  receiver?: string;
  group_by?: string[];
  group_wait?: string;
  group_interval?: string;
  repeat_interval?: string;
  /** e.g. `severity="critical"` */
  matchers?: string[];
  continue?: boolean;
  routes?: AlertmanagerRoute[];
}

export interface AlertmanagerConfig {
  global?: { resolve_timeout?: string };
  /** The root route. Its defaults here are for tests: see {@link TEST_ROUTE_DEFAULTS}. */
  route?: AlertmanagerRoute;
  receivers: AlertmanagerReceiver[];
  inhibit_rules?: Record<string, unknown>[];
}

/**
 * Root route timers small enough for tests: a new group is notified after 500 ms, a change to it
 * (a resolved alert) within a second, and a still-firing group again every minute. Alertmanager's
 * own defaults are 30 s, 5 min and 4 h.
 */
export const TEST_ROUTE_DEFAULTS = {
  group_by: ['alertname', 'service'],
  group_wait: '500ms',
  group_interval: '1s',
  repeat_interval: '1m',
} as const;

/**
 * The alertmanager.yml for `config`: the root route gets {@link TEST_ROUTE_DEFAULTS} for what it
 * leaves out and the first receiver when it names none. JSON, which is YAML too.
 */
export function renderAlertmanagerConfig(config: AlertmanagerConfig): string {
  const first = config.receivers[0];
  if (!first) throw new Error('an Alertmanager configuration needs at least one receiver');
  const route = { ...TEST_ROUTE_DEFAULTS, receiver: first.name, ...config.route };
  return `${JSON.stringify({ ...config, route }, null, 2)}\n`;
}

export interface LocalAlertmanager {
  /** Base URL, e.g. http://127.0.0.1:41234 (the API is under /api/v2). */
  url: string;
  port: number;
  pid: number;
  /** The alertmanager.yml it runs with. */
  configFile: string;
  /** Its log (stderr), for diagnosing a failed test; removed by stop() with the rest of its folder. */
  logFile: string;
  /**
   * Writes `config` and has Alertmanager load it (`POST /-/reload`). A configuration Alertmanager
   * refuses throws with its reason; it keeps running with the previous one, and so does the file.
   */
  reload(config: AlertmanagerConfig): Promise<void>;
  /** Stops the process this call started (by its PID) and removes its folder unless `dir` was given. */
  stop(): Promise<void>;
}

export interface StartAlertmanagerOptions {
  config: AlertmanagerConfig;
  /** Progress lines (the first use builds Alertmanager, about 2 minutes). */
  log?: Log;
  /** Default: a free loopback port. */
  port?: number;
  /** Keeps configuration, silences and the notification log here (kept on stop). Default: a temporary folder. */
  dir?: string;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
}

function tail(file: string, lines = 20): string {
  if (!existsSync(file)) return '';
  return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n');
}

/**
 * Starts a real Prometheus Alertmanager on 127.0.0.1 with `config`, clustering off, and waits
 * until it answers `/-/ready`. The binary is built on first use (infra/tools.ts) unless
 * MICRO_ONCALL_ALERTMANAGER points at one.
 */
export async function startAlertmanager(opts: StartAlertmanagerOptions): Promise<LocalAlertmanager> {
  const log = opts.log ?? ((line: string) => console.log(`[alertmanager] ${line}`));
  const binary = await ensureTool('alertmanager', log);
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'micro-oncall-alertmanager-'));
  mkdirSync(join(dir, 'data'), { recursive: true });
  const configFile = join(dir, 'alertmanager.yml');
  const logFile = join(dir, 'alertmanager.log');
  const writeConfig = (text: string) => {
    // Credentials may be inline: readable by this user only. Replaced atomically for reloads.
    const tmp = `${configFile}.${process.pid}.tmp`;
    writeFileSync(tmp, text, { mode: 0o600 });
    renameSync(tmp, configFile);
  };
  let current: string;
  try {
    current = renderAlertmanagerConfig(opts.config);
    writeConfig(current);
  } catch (error) {
    if (ownDir) rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const port = opts.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const proc = spawnManaged(
    'alertmanager',
    binary,
    [
      `--config.file=${configFile}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      // Links in notifications (externalURL) point here rather than at the host name.
      `--web.external-url=${url}`,
      // An empty address turns gossip clustering off: one instance, no peers, no extra port.
      '--cluster.listen-address=',
      `--log.level=${opts.logLevel ?? 'warn'}`,
    ],
    { logFile },
  );
  const cleanUp = async () => {
    await proc.stop(10_000);
    if (ownDir) rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(`Alertmanager ${ALERTMANAGER_VERSION} on ${url}`, async () => (await fetch(`${url}/-/ready`)).ok, {
      timeoutMs: 30_000,
      intervalMs: 100,
      exited: proc.exited,
    });
  } catch (error) {
    const output = tail(logFile);
    await cleanUp();
    throw new Error(`${(error as Error).message}${output ? `\nits log:\n${output}` : ''}`);
  }
  log(`Alertmanager ${ALERTMANAGER_VERSION} on ${url} (pid ${proc.pid})`);

  let stopped: Promise<void> | undefined;
  return {
    url,
    port,
    pid: proc.pid,
    configFile,
    logFile,
    async reload(config) {
      const next = renderAlertmanagerConfig(config);
      writeConfig(next);
      const res = await fetch(`${url}/-/reload`, { method: 'POST' });
      if (!res.ok) {
        writeConfig(current);
        const reason = (await res.text()).trim();
        throw new Error(`Alertmanager refused the configuration (HTTP ${res.status}): ${reason}`);
      }
      current = next;
    },
    stop() {
      stopped ??= cleanUp();
      return stopped;
    },
  };
}
