import { Writable } from 'node:stream';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import type { Component, HealthStatus } from './component.js';
import { createHttpApp } from './http.js';
import { createLogger } from './logger.js';
import { createMetricsRegistry } from './metrics.js';

// Readiness answers the kubelet and operators inside the cluster with each failing part's raw
// error. A request that came through a proxy (an Ingress, a load balancer: they add
// X-Forwarded-For or Forwarded) may come from anyone, and raw errors name hosts, database users
// and schemas: it learns which part failed, the log gets the reason.

const RAW_ERROR = 'password authentication failed for user "escalation" at db-primary.internal:5432';

function appWithFailingDatabase() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      callback();
    },
  });
  const logger = createLogger({ service: 'readiness-test', level: 'info', destination });
  const component = (id: string, status: HealthStatus): Component => ({
    id,
    stop: async () => undefined,
    healthcheck: async () => status,
  });
  const components = [
    component('postgres', { healthy: false, reason: RAW_ERROR }),
    component('kafka', { healthy: true }),
  ];
  const app = createHttpApp(
    { logger, registry: createMetricsRegistry('readiness-test'), components: () => components },
    () => undefined,
  );
  return { app, lines };
}

describe('readiness details', () => {
  it('gives the raw reason to a direct request (kubelet, port-forward, in-cluster callers)', async () => {
    const { app } = appWithFailingDatabase();
    const res = await request(app).get('/health/ready');
    expect(res.status).toBe(503);
    expect(res.body.checks.postgres).toEqual({ healthy: false, reason: RAW_ERROR });
  });

  it.each([
    ['X-Forwarded-For', '203.0.113.7'],
    ['Forwarded', 'for=203.0.113.7;proto=https'],
  ])('withholds it from a request that came through a proxy (%s) and logs it instead', async (header, value) => {
    const { app, lines } = appWithFailingDatabase();
    const res = await request(app).get('/health/ready').set(header, value);
    expect(res.status).toBe(503);
    expect(res.body).toEqual({
      status: 'not_ready',
      checks: { postgres: { healthy: false, reason: 'unavailable' }, kafka: { healthy: true } },
    });
    expect(res.text).not.toContain('db-primary');
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        checks: expect.objectContaining({ postgres: { healthy: false, reason: RAW_ERROR } }),
      }),
    );
  });
});
