import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { matchAuthorizationHeader, verifyAuthorizationHeader } from './credentials.js';

describe(verifyAuthorizationHeader.name, () => {
  const token = `opsgenie-${randomBytes(12).toString('hex')}`;
  const basic = `alertmanager:${randomBytes(12).toString('hex')}`;
  const basicHeader = (credential: string) => `Basic ${Buffer.from(credential).toString('base64')}`;

  it('accepts the configured bearer token, with any case of the scheme', () => {
    expect(verifyAuthorizationHeader(`Bearer ${token}`, { token })).toBe(true);
    expect(verifyAuthorizationHeader(`bearer ${token}`, { token })).toBe(true);
  });

  it('rejects a wrong, truncated or extended bearer token', () => {
    expect(verifyAuthorizationHeader('Bearer opsgenie-token-9876543210', { token })).toBe(false);
    expect(verifyAuthorizationHeader(`Bearer ${token.slice(0, -1)}`, { token })).toBe(false);
    expect(verifyAuthorizationHeader(`Bearer ${token}x`, { token })).toBe(false);
  });

  it('ignores whitespace around the token but not inside it', () => {
    expect(verifyAuthorizationHeader(`Bearer   ${token}  `, { token })).toBe(true);
    expect(verifyAuthorizationHeader(`Bearer ${token.slice(0, 5)} ${token.slice(5)}`, { token })).toBe(false);
  });

  it('accepts the configured basic credential', () => {
    expect(verifyAuthorizationHeader(basicHeader(basic), { basic })).toBe(true);
    expect(verifyAuthorizationHeader(basicHeader(basic).replace('Basic', 'BASIC'), { basic })).toBe(true);
  });

  it('rejects a wrong basic password or user', () => {
    expect(verifyAuthorizationHeader(basicHeader('alertmanager:wrong-horse-battery'), { basic })).toBe(false);
    expect(verifyAuthorizationHeader(basicHeader(`prometheus:${basic.split(':')[1]}`), { basic })).toBe(false);
    expect(verifyAuthorizationHeader('Basic not base64 at all', { basic })).toBe(false);
  });

  it('does not accept the token as a basic credential, nor the basic credential as a token', () => {
    expect(verifyAuthorizationHeader(basicHeader(token), { token })).toBe(false);
    expect(verifyAuthorizationHeader(`Bearer ${basic}`, { basic })).toBe(false);
    expect(verifyAuthorizationHeader(`Bearer ${Buffer.from(basic).toString('base64')}`, { basic })).toBe(false);
  });

  it.each([
    ['a missing header', undefined],
    ['an empty header', ''],
    ['no scheme', token],
    ['the Token scheme', `Token ${token}`],
    ['the Digest scheme', `Digest ${token}`],
    ['a scheme with no value', 'Bearer '],
  ])('rejects %s', (_what, header) => {
    expect(verifyAuthorizationHeader(header, { token, basic })).toBe(false);
  });

  it('rejects everything when no credential is configured', () => {
    expect(verifyAuthorizationHeader('Bearer ', {})).toBe(false);
    expect(verifyAuthorizationHeader(`Bearer ${token}`, {})).toBe(false);
  });
});

describe(matchAuthorizationHeader.name, () => {
  it('names the credential that matched, never its value', () => {
    // Generated per run: no secret-shaped literal in the repository.
    const credential = {
      token: `opsgenie-${randomBytes(12).toString('hex')}`,
      basic: `opsgenie:${randomBytes(12).toString('hex')}`,
    };
    const basic = `Basic ${Buffer.from(credential.basic).toString('base64')}`;
    expect(matchAuthorizationHeader(`Bearer ${credential.token}`, credential)).toBe('token');
    expect(matchAuthorizationHeader(basic, credential)).toBe('basic');
    expect(matchAuthorizationHeader('Bearer opsgenie-token-wrong-value', credential)).toBeUndefined();
  });
});
