import { createHmac, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { signPagerDuty, verifyPagerDutySignature } from './signatures.js';

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

describe(signPagerDuty.name, () => {
  it('produces the header that verification accepts, and only for the same body and secret', () => {
    const header = signPagerDuty(body, SECRET);
    expect(header).toBe(v1(body, SECRET));
    expect(verifyPagerDutySignature(body, header, [SECRET])).toBe(true);
    expect(verifyPagerDutySignature(Buffer.from(`${body} `), header, [SECRET])).toBe(false);
    expect(verifyPagerDutySignature(body, header, [NEXT_SECRET])).toBe(false);
  });
});
