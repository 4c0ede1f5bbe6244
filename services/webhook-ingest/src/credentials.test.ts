import { createHmac, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { safeEqual, verifyAuthorizationHeader, verifyPagerDutySignature } from './credentials.js';

const SECRET = `pd-subscription-${randomBytes(12).toString('hex')}`;
const NEXT_SECRET = `pd-subscription-${randomBytes(12).toString('hex')}`;
const body = Buffer.from('{"event":{"id":"01","event_type":"incident.triggered"}}');

const hmac = (payload: Buffer | string, secret: string) => createHmac('sha256', secret).update(payload).digest('hex');
const v1 = (payload: Buffer | string, secret: string) => `v1=${hmac(payload, secret)}`;

describe(verifyPagerDutySignature.name, () => {
  it('accepts the signature of the raw body', () => {
    expect(verifyPagerDutySignature(body, v1(body, SECRET), [SECRET])).toBe(true);
  });

  it('accepts a header with several v1 entries when any one matches', () => {
    const header = `${v1(body, 'an-old-secret-xx')}, ${v1(body, SECRET)}`;
    expect(verifyPagerDutySignature(body, header, [SECRET])).toBe(true);
    expect(
      verifyPagerDutySignature(body, `${v1(body, 'an-old-secret-xx')},${v1(body, 'another-secret')}`, [SECRET]),
    ).toBe(false);
  });

  it('accepts either configured secret during rotation', () => {
    expect(verifyPagerDutySignature(body, v1(body, SECRET), [NEXT_SECRET, SECRET])).toBe(true);
    expect(verifyPagerDutySignature(body, v1(body, NEXT_SECRET), [NEXT_SECRET, SECRET])).toBe(true);
    expect(verifyPagerDutySignature(body, v1(body, 'retired-secret-x'), [NEXT_SECRET, SECRET])).toBe(false);
  });

  it('accepts upper-case hex: it is the same signature', () => {
    expect(verifyPagerDutySignature(body, `v1=${hmac(body, SECRET).toUpperCase()}`, [SECRET])).toBe(true);
  });

  it.each([
    ['a missing header', undefined],
    ['an empty header', ''],
    ['the v0 scheme', `v0=${hmac(body, SECRET)}`],
    ['a sha256= scheme', `sha256=${hmac(body, SECRET)}`],
    ['no scheme', hmac(body, SECRET)],
    ['non-hex characters', `v1=${'z'.repeat(64)}`],
    ['a truncated signature', `v1=${hmac(body, SECRET).slice(0, 63)}`],
    ['an over-long signature', `v1=${hmac(body, SECRET)}00`],
    ['the signature of another body', v1(`${body.toString()} `, SECRET)],
    ['the signature keyed with the body', v1(SECRET, body.toString())],
    ['only separators', ' , ,'],
  ])('rejects %s', (_what, header) => {
    expect(verifyPagerDutySignature(body, header, [SECRET])).toBe(false);
  });

  it('rejects everything when no secret is configured', () => {
    expect(verifyPagerDutySignature(body, v1(body, SECRET), [])).toBe(false);
  });

  it('never verifies a signature over one body against another body', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 256 }),
        fc.uint8Array({ maxLength: 256 }),
        fc.string({ minLength: 8, maxLength: 64 }),
        (a, b, secret) => {
          fc.pre(!Buffer.from(a).equals(Buffer.from(b)));
          const signatureOfA = v1(Buffer.from(a), secret);
          expect(verifyPagerDutySignature(Buffer.from(a), signatureOfA, [secret])).toBe(true);
          expect(verifyPagerDutySignature(Buffer.from(b), signatureOfA, [secret])).toBe(false);
        },
      ),
    );
  });
});

describe(verifyAuthorizationHeader.name, () => {
  const token = `opsgenie-${randomBytes(12).toString('hex')}`;
  const basic = 'alertmanager:correct-horse-battery';
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
    expect(verifyAuthorizationHeader(basicHeader('prometheus:correct-horse-battery'), { basic })).toBe(false);
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

describe(safeEqual.name, () => {
  it('is true only for equal values', () => {
    expect(safeEqual('same-secret', 'same-secret')).toBe(true);
    expect(safeEqual(Buffer.from('same-secret'), 'same-secret')).toBe(true);
    expect(safeEqual('same-secret', 'same-secreT')).toBe(false);
  });

  it('compares values of different lengths without throwing', () => {
    expect(safeEqual('short', 'a much longer secret value')).toBe(false);
    expect(safeEqual('', 'x')).toBe(false);
    expect(safeEqual('', '')).toBe(true);
  });
});
