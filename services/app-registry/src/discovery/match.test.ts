import { describe, expect, it } from 'vitest';
import { candidateKey, createMatcher } from './match.js';

describe('discovery matching', () => {
  const matcher = createMatcher([
    { id: 'app_a', idpClientIds: ['0oa-web'], cloudResourceIds: [], endpoints: [{ host: 'refunds.example.com:8443' }] },
    {
      id: 'app_b',
      idpClientIds: [],
      cloudResourceIds: ['arn:aws:lambda:eu-west-1:123:function:Thumbs'],
      endpoints: [{ host: '*.b.example.com' }],
    },
    { id: 'app_c', idpClientIds: [], cloudResourceIds: [], endpoints: [{ host: '*.example.com' }] },
  ]);

  it('matches by client id, resource id (any case) and host (no port; a wildcard covers sub-domains, the longest first)', () => {
    expect(matcher.match({ match: { clientId: '0oa-web' } })).toBe('app_a');
    expect(matcher.match({ match: { resourceId: 'arn:aws:lambda:eu-west-1:123:function:thumbs' } })).toBe('app_b');
    expect(matcher.match({ match: { host: 'Refunds.Example.com:443' } })).toBe('app_a');
    expect(matcher.match({ match: { host: 'x.b.example.com' } })).toBe('app_b');
    expect(matcher.match({ match: { host: 'other.example.com' } })).toBe('app_c');
    expect(matcher.match({ match: { host: 'example.org' } })).toBeNull();
    expect(matcher.match({ match: { clientId: 'unknown', host: 'nowhere.test' } })).toBeNull();
  });

  it('keys a candidate by what an app would match it by, most specific first', () => {
    expect(candidateKey({ match: { clientId: 'c1', host: 'h' } })).toBe('client:c1');
    expect(candidateKey({ match: { resourceId: 'arn:x', host: 'h' } })).toBe('resource:arn:x');
    expect(candidateKey({ match: { host: 'API.example.com:443' } })).toBe('host:api.example.com');
    expect(candidateKey({ match: {} })).toBeNull();
  });
});
