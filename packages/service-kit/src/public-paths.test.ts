import { describe, expect, it } from 'vitest';
import { publicPathProblems } from './service.js';

describe(publicPathProblems.name, () => {
  it("accepts the product's paths: exact /, prefixes, nested prefixes", () => {
    expect(
      publicPathProblems('escalation', [
        { path: '/', match: 'exact' },
        { path: '/incidents', match: 'prefix' },
        { path: '/v1', match: 'prefix' },
        { path: '/v1/webhooks', match: 'prefix' },
      ]),
    ).toEqual([]);
  });

  it('refuses what would route too much, expose inside-the-cluster paths, or is malformed', () => {
    expect(publicPathProblems('svc', [{ path: '/', match: 'prefix' }])).toEqual([
      'svc: a prefix of / would route everything (/metrics, /health included) to it',
    ]);
    expect(publicPathProblems('svc', [{ path: '/health', match: 'prefix' }])).toEqual([
      'svc: public path /health would expose /health, which stays inside the cluster',
    ]);
    expect(publicPathProblems('svc', [{ path: '/status/', match: 'prefix' }])[0]).toMatch(/no trailing slash/);
    expect(publicPathProblems('svc', [{ path: 'status', match: 'prefix' }])[0]).toMatch(/must start with \//);
    expect(publicPathProblems('svc', [{ path: '/a/../metrics', match: 'exact' }])).toHaveLength(1);
    expect(
      publicPathProblems('svc', [
        { path: '/v1', match: 'prefix' },
        { path: '/v1', match: 'exact' },
      ]),
    ).toEqual(['svc: public path /v1 is listed twice']);
  });
});
