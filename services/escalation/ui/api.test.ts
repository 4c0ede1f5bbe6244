import { afterEach, describe, expect, it, vi } from 'vitest';
import { api, setCsrfToken } from './api.js';

/** The same rule the server applies (services/escalation/src/routes/actions.ts). */
const IDEMPOTENCY_KEY = /^[A-Za-z0-9._:-]{8,128}$/;

function capture() {
  const sent: { url: string; headers: Record<string, string> }[] = [];
  vi.stubGlobal('fetch', async (url: string, init: { headers: Record<string, string> }) => {
    sent.push({ url, headers: init.headers });
    return new Response(JSON.stringify({ ok: true }), { status: 200, headers: { 'content-type': 'application/json' } });
  });
  return sent;
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('api', () => {
  it('sends a new Idempotency-Key with each POST (one per click), and the CSRF token', async () => {
    const sent = capture();
    setCsrfToken('csrf-1');
    const path = '/v1/incidents/inc_000000000000000000000000/actions';

    await api(path, { method: 'POST', body: { action: 'acknowledge' } });
    await api(path, { method: 'POST', body: { action: 'acknowledge' } });

    const [first, second] = sent.map((s) => s.headers);
    expect(first?.['idempotency-key']).toMatch(IDEMPOTENCY_KEY);
    expect(second?.['idempotency-key']).toMatch(IDEMPOTENCY_KEY);
    expect(second?.['idempotency-key']).not.toBe(first?.['idempotency-key']);
    expect(first?.['x-csrf-token']).toBe('csrf-1');
  });

  it('keeps a key it is given, so that a retry of the same intent can reuse it', async () => {
    const sent = capture();
    await api('/v1/x', { method: 'POST', body: {}, idempotencyKey: 'intent-0001' });
    expect(sent[0]?.headers['idempotency-key']).toBe('intent-0001');
  });

  it('sends no Idempotency-Key with reads', async () => {
    const sent = capture();
    await api('/v1/incidents');
    expect(sent[0]?.headers).not.toHaveProperty('idempotency-key');
  });
});
