import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/*
 * The platform's smoke check, run by `helm test` after a deployment (the umbrella chart's test
 * hook Pod runs it from the simulator image) and by hand:
 *
 *   SMOKE_SERVICES=webhook-ingest=http://…:8080,escalation=http://…:8080,simulator=http://…:8080 \
 *   SMOKE_TOKEN_FILE=/run/secrets/smoke-token node --import tsx src/smoke.ts
 *
 * 1. Every service answers /health/ready.
 * 2. A tiny drill through our own pipeline that resolves itself: the simulator fires one `info`
 *    alert (no approval needed) at webhook-ingest; escalation must show it as a verified drill
 *    incident of that run; the scenario resolves it 10 s later and escalation must show it
 *    resolved. A failure after the run started aborts the run, so nothing stays open.
 * Exit code 0 when everything passed; 1 with what failed, in words, otherwise.
 */

export const SMOKE_SCENARIO = {
  id: 'platform-smoke-check',
  name: 'Platform smoke check',
  description: 'One info alert through webhook-ingest to escalation, resolved 10 s later (helm test).',
  team: 'oncall-platform',
  runbook: {
    url: 'https://runbooks.example.com/oncall-platform/platform-smoke-check',
    checklist: ['Nothing to do: the smoke check resolves itself'],
  },
  maxDurationMinutes: 2,
  timeline: [
    {
      at: 0,
      action: 'fire',
      alert: 'smoke',
      name: 'PlatformSmokeCheck',
      severity: 'info',
      summary: 'Platform smoke check (helm test)',
      service: 'platform-smoke-check',
    },
    { at: '10s', action: 'resolve', alerts: 'all' },
  ],
} as const;

export interface SmokeOptions {
  /** Base URL of each service whose /health/ready is checked; `simulator` and `escalation` are needed for the drill. */
  services: Record<string, string>;
  /** A bearer token (responder and viewer) for the simulator and escalation APIs. */
  token: () => Promise<string>;
  /** How long the drill may take to show up and resolve in escalation (default 120 s). */
  timeoutSeconds?: number;
  /** Each check as it passes or fails. */
  log?: (line: string) => void;
}

class SmokeFailure extends Error {}

/** Runs the smoke check; resolves with the checks that passed, rejects with the first failure. */
export async function runSmoke(opts: SmokeOptions): Promise<string[]> {
  const log = opts.log ?? (() => undefined);
  const passed: string[] = [];
  const pass = (line: string) => {
    passed.push(line);
    log(`ok   ${line}`);
  };
  const deadline = Date.now() + (opts.timeoutSeconds ?? 120) * 1000;

  for (const [name, url] of Object.entries(opts.services)) {
    const res = await request(`${url}/health/ready`).catch((error: Error) => {
      throw new SmokeFailure(`${name} is not reachable at ${url}: ${error.message}`);
    });
    if (res.status !== 200) {
      throw new SmokeFailure(`${name} is not ready (${url}/health/ready answered ${res.status}: ${brief(res.text)})`);
    }
    pass(`${name} ready`);
  }

  const simulator = opts.services.simulator;
  const escalation = opts.services.escalation;
  if (!simulator || !escalation) {
    throw new SmokeFailure('the drill needs the simulator and escalation in SMOKE_SERVICES');
  }
  const token = await opts.token();
  const api = async <T>(base: string, path: string, body?: unknown): Promise<{ status: number; body: T }> => {
    const res = await request(`${base}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (res.text ? JSON.parse(res.text) : null) as T };
  };
  const refused = (what: string, res: { status: number; body: unknown }) =>
    new SmokeFailure(`${what} was refused (${res.status}): ${errorMessage(res.body)}`);

  const kill = await api<{ engaged: boolean; reason: string | null }>(simulator, '/drills/v1/kill-switch');
  if (kill.status !== 200) throw refused('reading the drill kill switch', kill);
  if (kill.body.engaged) {
    throw new SmokeFailure(
      `the drill kill switch is engaged (${kill.body.reason ?? 'no reason given'}): the smoke drill cannot run until an approver re-arms it`,
    );
  }
  const saved = await api(simulator, '/drills/v1/scenarios', SMOKE_SCENARIO);
  if (saved.status !== 200 && saved.status !== 201) throw refused('saving the smoke scenario', saved);
  const started = await api<{ id: string; state: string }>(simulator, '/drills/v1/runs', {
    scenario: SMOKE_SCENARIO.id,
    targets: ['ingest'],
  });
  if (started.status !== 201) throw refused('starting the smoke drill', started);
  const runId = started.body.id;
  if (started.body.state !== 'running') {
    await api(simulator, `/drills/v1/runs/${runId}/reject`, { reason: 'smoke check: not meant to wait for approval' });
    throw new SmokeFailure(
      `the smoke drill ${runId} is ${started.body.state}, not running: this deployment asks approval for info drills`,
    );
  }
  pass(`drill ${runId} started (simulator → webhook-ingest)`);

  try {
    type Incident = { id: string; status: string; drill: boolean; drillRun: { id: string } | null };
    const incident = async () => {
      const res = await api<{ items: Incident[] }>(
        escalation,
        `/v1/incidents?service=${SMOKE_SCENARIO.timeline[0].service}&limit=50`,
      );
      if (res.status !== 200) throw refused('listing escalation incidents', res);
      return res.body.items.find((i) => i.drillRun?.id === runId);
    };
    const seen = await poll(deadline, 'escalation to show the drill incident', incident);
    pass(`escalation shows incident ${seen.id} as a verified drill of the run`);
    await poll(deadline, 'escalation to show the drill incident resolved', async () => {
      const found = await incident();
      return found?.status === 'resolved' ? found : undefined;
    });
    pass('the drill resolved itself (escalation shows the incident resolved)');
    const run = await poll(deadline, 'the run to complete', async () => {
      const res = await api<{ state: string; endReason: string | null }>(simulator, `/drills/v1/runs/${runId}`);
      return res.status === 200 && res.body.state !== 'running' ? res.body : undefined;
    });
    if (run.state !== 'completed') throw new SmokeFailure(`the smoke drill ended ${run.state}: ${run.endReason}`);
    pass('the drill run completed');
  } catch (error) {
    // Nothing may stay open: the abort resolves what the run fired.
    await api(simulator, `/drills/v1/runs/${runId}/abort`, { reason: 'smoke check failed' }).catch(() => undefined);
    throw error;
  }
  return passed;
}

async function poll<T>(deadline: number, what: string, fn: () => Promise<T | undefined>): Promise<T> {
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new SmokeFailure(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function request(url: string, init: RequestInit = {}): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  return { status: res.status, text: await res.text() };
}

const brief = (text: string) => (text.length > 300 ? `${text.slice(0, 300)}…` : text);

function errorMessage(body: unknown): string {
  const error = (body as { error?: { message?: string } } | null)?.error;
  return error?.message ?? brief(JSON.stringify(body));
}

/**
 * The options from the environment: SMOKE_SERVICES (`name=url,…`), a token from
 * SMOKE_TOKEN_FILE, or from the identity provider's client-credentials grant
 * (SMOKE_OIDC_ENDPOINT: its token endpoint; SMOKE_OIDC_CLIENT_ID, SMOKE_OIDC_CLIENT_SECRET_FILE, optional
 * SMOKE_OIDC_AUDIENCE and SMOKE_OIDC_SCOPE), SMOKE_TIMEOUT_SECONDS.
 */
export function smokeOptionsFromEnv(env: NodeJS.ProcessEnv): SmokeOptions {
  const services: Record<string, string> = {};
  for (const entry of (env.SMOKE_SERVICES ?? '').split(',').filter((e) => e.trim())) {
    const [name, url] = entry.split('=', 2).map((s) => s.trim());
    if (!name || !url || !/^https?:\/\//.test(url)) {
      throw new SmokeFailure(`SMOKE_SERVICES: ${JSON.stringify(entry)} is not name=http(s)://host:port`);
    }
    services[name] = url.replace(/\/+$/, '');
  }
  if (Object.keys(services).length === 0) {
    throw new SmokeFailure('SMOKE_SERVICES is empty: name=url of each service, comma-separated');
  }
  const read = (name: string) => {
    const path = env[name];
    if (!path) throw new SmokeFailure(`${name} is not set`);
    return readFileSync(path, 'utf8').trim();
  };
  let token: () => Promise<string>;
  if (env.SMOKE_TOKEN_FILE) {
    token = async () => read('SMOKE_TOKEN_FILE');
  } else if (env.SMOKE_OIDC_ENDPOINT) {
    token = async () => {
      const form = new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: env.SMOKE_OIDC_CLIENT_ID ?? '',
        client_secret: read('SMOKE_OIDC_CLIENT_SECRET_FILE'),
        ...(env.SMOKE_OIDC_AUDIENCE ? { audience: env.SMOKE_OIDC_AUDIENCE } : {}),
        ...(env.SMOKE_OIDC_SCOPE ? { scope: env.SMOKE_OIDC_SCOPE } : {}),
      });
      const res = await request(env.SMOKE_OIDC_ENDPOINT!, { method: 'POST', body: form });
      const body = res.text ? (JSON.parse(res.text) as { access_token?: string }) : {};
      if (res.status !== 200 || !body.access_token) {
        throw new SmokeFailure(`the identity provider refused the smoke check's client credentials (${res.status})`);
      }
      return body.access_token;
    };
  } else {
    throw new SmokeFailure('set SMOKE_TOKEN_FILE, or SMOKE_OIDC_ENDPOINT with a client id and secret file');
  }
  const timeout = env.SMOKE_TIMEOUT_SECONDS ? Number(env.SMOKE_TIMEOUT_SECONDS) : undefined;
  if (timeout !== undefined && !(Number.isInteger(timeout) && timeout > 0)) {
    throw new SmokeFailure('SMOKE_TIMEOUT_SECONDS must be a whole number of seconds');
  }
  return { services, token, ...(timeout ? { timeoutSeconds: timeout } : {}) };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const log = (line: string) => process.stdout.write(`${line}\n`);
  try {
    await runSmoke({ ...smokeOptionsFromEnv(process.env), log });
    log('smoke check passed');
  } catch (error) {
    log(`FAIL ${(error as Error).message}`);
    log('smoke check failed');
    process.exitCode = 1;
  }
}
