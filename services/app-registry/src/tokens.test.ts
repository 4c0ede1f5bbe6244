import { describe, expect, it } from 'vitest';
import { bearerAppToken, issueToken, tokenMatches } from './tokens.js';

describe('app tokens', () => {
  it('match only their own hash', () => {
    const a = issueToken();
    const b = issueToken();
    expect(a.token).toMatch(/^moapp_[A-Za-z0-9_-]{43}$/);
    expect(a.sha256).not.toContain(a.token);
    expect(tokenMatches(a.token, a.sha256)).toBe(true);
    expect(tokenMatches(b.token, a.sha256)).toBe(false);
    expect(tokenMatches(`${a.token}x`, a.sha256)).toBe(false);
  });

  it('are read from a bearer header only when they look like app tokens', () => {
    expect(bearerAppToken('Bearer moapp_abc')).toBe('moapp_abc');
    expect(bearerAppToken('Bearer eyJhbGciOi.x.y')).toBeNull();
    expect(bearerAppToken(undefined)).toBeNull();
  });
});
