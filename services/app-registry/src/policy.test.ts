import { createServer, type Server } from 'node:http';
import { createLogger, createMetricsRegistry } from '@micro-oncall/service-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { createOpaPolicyEngine, openViolations, type PolicyDecision, type PolicyInput, summarise } from './policy.js';

const input: PolicyInput = {
  app: {
    impact: 'experimental',
    data_classes: ['internal'],
    exposure: 'internal_network',
    runtime: 'wasm',
    dedicated_namespace: false,
    public_storage: false,
    template: 'micro-oncall-service',
    idp_client_ids: [],
  },
  evidence: {},
  exceptions: [],
  approval: null,
};

const decision = {
  policy_version: 'test',
  outcome: 'approve',
  score: 2,
  tier: 'low',
  explanation: 'risk score 2',
  controls: [{ id: 'approved_template', rule: 'MO-APP-002', title: 't', status: 'satisfied', message: 'ok', fix: '' }],
  reasons: [],
};

let server: Server | undefined;
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

/** A stand-in OPA answering every query with `answer` (status, body). */
async function fakeOpa(answer: () => { status: number; body: string }) {
  server = createServer((_req, res) => {
    const { status, body } = answer();
    res.writeHead(status, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return createOpaPolicyEngine({
    url: `http://127.0.0.1:${port}`,
    timeoutMs: 500,
    logger: createLogger({ service: 'test', level: 'silent' }),
    registry: createMetricsRegistry('test'),
  });
}

describe('createOpaPolicyEngine', () => {
  it('returns a well-formed decision', async () => {
    const engine = await fakeOpa(() => ({ status: 200, body: JSON.stringify({ result: decision }) }));
    expect(await engine.decide(input)).toEqual({ kind: 'decided', decision });
  });

  it('holds when the policy defines no decision for the app', async () => {
    const engine = await fakeOpa(() => ({ status: 200, body: '{}' }));
    expect(await engine.decide(input)).toEqual({
      kind: 'held',
      reason: expect.stringMatching(/defines no data.app_registry.decision/),
    });
  });

  it('holds on an outcome it does not know, never approving by default', async () => {
    const engine = await fakeOpa(() => ({
      status: 200,
      body: JSON.stringify({ result: { ...decision, outcome: 'probably_fine' } }),
    }));
    expect(await engine.decide(input)).toEqual({
      kind: 'held',
      reason: expect.stringMatching(/^the policy answered a decision this service does not know \(outcome/),
    });
  });

  it('holds when OPA fails or cannot be reached', async () => {
    const failing = await fakeOpa(() => ({ status: 500, body: '{"code":"internal_error"}' }));
    expect((await failing.decide(input)).kind).toBe('held');
    const gone = createOpaPolicyEngine({
      url: 'http://127.0.0.1:9',
      timeoutMs: 300,
      logger: createLogger({ service: 't', level: 'silent' }),
      registry: createMetricsRegistry('t'),
    });
    expect(await gone.decide(input)).toEqual({
      kind: 'held',
      reason: expect.stringMatching(/^the policy engine is unavailable/),
    });
  });

  it('decides many apps in one request, holding those it has no decision for', async () => {
    const engine = await fakeOpa(() => ({ status: 200, body: JSON.stringify({ result: { a: decision } }) }));
    const results = await engine.decideMany({ a: input, b: input });
    expect(results.a?.kind).toBe('decided');
    expect(results.b).toEqual({ kind: 'held', reason: 'the policy made no decision for this app' });
  });
});

describe('summarise', () => {
  it('explains a hold as a reason with what happens next', () => {
    const s = summarise({ kind: 'held', reason: 'the policy engine is unavailable (x)' }, '2026-12-01T00:00:00.000Z');
    expect(s).toMatchObject({
      outcome: 'hold',
      tier: null,
      score: null,
      reasons: [{ rule: 'policy-engine', control: 'decision' }],
    });
  });

  it('counts required controls that are not met as violations', () => {
    const s = summarise(
      {
        kind: 'decided',
        decision: {
          ...(decision as unknown as PolicyDecision),
          outcome: 'refuse',
          controls: ['satisfied', 'excepted', 'missing', 'failing', 'violated'].map((status, i) => ({
            id: `c${i}`,
            rule: 'r',
            title: 't',
            status,
            message: 'm',
            fix: 'f',
          })) as never,
        },
      },
      '2026-12-01T00:00:00.000Z',
    );
    expect(openViolations(s)).toBe(3);
  });
});
