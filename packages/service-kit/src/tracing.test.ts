import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { createHttpApp, createLogger, createMetricsRegistry, currentTraceparent } from './index.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';

function app() {
  return createHttpApp(
    {
      logger: createLogger({ service: 'tracing-test', level: 'silent' }),
      registry: createMetricsRegistry('tracing-test'),
      components: () => [],
    },
    (a) => {
      a.get('/probe', async (_req, res) => {
        await new Promise((r) => setTimeout(r, 5)); // across an await, as a real handler is
        res.json({ traceparent: currentTraceparent() ?? null });
      });
    },
  );
}

describe('trace context over HTTP', () => {
  it("continues the caller's trace in the handler (what it publishes carries the caller's trace id)", async () => {
    const res = await request(app()).get('/probe').set('traceparent', `00-${TRACE_ID}-00f067aa0ba902b7-01`);
    expect(res.status).toBe(200);
    expect(res.body.traceparent).toMatch(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`));
  });

  it('starts no trace of its own without an SDK and without a caller trace', async () => {
    const res = await request(app()).get('/probe');
    expect(res.body.traceparent).toBeNull();
  });
});
