// The environment a chart renders for a service, checked with that service's own configuration
// schema: a chart that renders fine but whose pods would exit with "invalid configuration" (a
// setting the service requires in production and the chart never sets) fails here instead of
// in a cluster.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '@micro-oncall/service-kit';
import type { AnyService } from '../services.js';
import type { KubeObject } from './kubernetes.js';

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: unknown;
}

interface RenderedDeployment extends KubeObject {
  metadata?: { name?: unknown; labels?: Record<string, string> };
  spec?: { template?: { spec?: { containers?: { name: string; env?: EnvVar[] }[] } } };
}

/**
 * Secret contents are the operator's, not the chart's: secrets (valueFrom, or a `*_FILE` the
 * service reads) get this stand-in, and problems the service finds in a secret's content are
 * not reported. What is checked is everything the chart decides: plain values, which variables
 * are set at all, and the rules between them (e.g. what production requires).
 */
const SECRET_STAND_IN = 'postgres://stand-in:stand-in-secret-0123456789abcdef@secret.invalid:5432/stand-in';

/**
 * Problems the services would report on start-up for each server Deployment in `objects` whose
 * `app.kubernetes.io/name` is one of `services`. Deployments of other names are skipped.
 */
export function serviceConfigProblems(objects: KubeObject[], services: readonly AnyService[]): string[] {
  const problems: string[] = [];
  const scratch = mkdtempSync(join(tmpdir(), 'chart-config-'));
  try {
    for (const obj of objects as RenderedDeployment[]) {
      if (obj.kind !== 'Deployment') continue;
      const service = services.find((s) => s.name === obj.metadata?.labels?.['app.kubernetes.io/name']);
      if (!service) continue;
      const container = obj.spec?.template?.spec?.containers?.[0];
      if (!container) continue;
      const where = `Deployment/${String(obj.metadata?.name)} container "${container.name}"`;
      const { env, secretKeys } = resolveEnv(container.env ?? [], service, scratch);
      try {
        loadConfig(service.config, env);
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        for (const problem of error.problems) {
          const key = problem.split(':', 1)[0] ?? '';
          if (secretKeys.has(key)) continue;
          problems.push(`${where}: ${service.name} would refuse to start: ${problem}`);
        }
      }
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return problems;
}

/** The container's environment as the service would see it, secrets replaced by the stand-in. */
function resolveEnv(vars: EnvVar[], service: AnyService, scratch: string) {
  const shape = (service.config as { shape?: Record<string, unknown> }).shape ?? {};
  const env: Record<string, string> = {};
  const secretKeys = new Set<string>();
  const standIn = join(scratch, 'secret');
  writeFileSync(standIn, SECRET_STAND_IN);
  for (const v of vars) {
    const target = v.name.endsWith('_FILE') ? v.name.slice(0, -'_FILE'.length) : undefined;
    if (v.valueFrom !== undefined) {
      env[v.name] = SECRET_STAND_IN;
      secretKeys.add(v.name);
    } else if (target && target in shape) {
      // A mounted secret file: the service reads it into `target`.
      env[v.name] = standIn;
      secretKeys.add(target);
    } else {
      env[v.name] = v.value ?? '';
    }
  }
  return { env, secretKeys };
}
