import { describe, expect, it } from 'vitest';
import { basicCredentials, secretsEqual } from './secrets.js';

describe(secretsEqual.name, () => {
  it('accepts only the same secret, as text or bytes', () => {
    expect(secretsEqual('same-secret', 'same-secret')).toBe(true);
    expect(secretsEqual(Buffer.from('same-secret'), 'same-secret')).toBe(true);
    expect(secretsEqual('same-secret', 'same-secreT')).toBe(false);
  });

  it('compares secrets of different lengths without throwing', () => {
    expect(secretsEqual('short', 'a much longer secret value')).toBe(false);
    expect(secretsEqual('', 'x')).toBe(false);
    expect(secretsEqual('', '')).toBe(true);
  });
});

describe(basicCredentials.name, () => {
  const basic = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;

  it('decodes user:password from a Basic header, whatever the scheme case', () => {
    expect(basicCredentials(basic('alertmanager:s3cret:with:colons'))).toBe('alertmanager:s3cret:with:colons');
    expect(basicCredentials(basic('u:p').replace('Basic', 'basic'))).toBe('u:p');
  });

  it('answers null for no header, another scheme or a value that is not base64', () => {
    expect(basicCredentials(undefined)).toBeNull();
    expect(basicCredentials('Bearer abc')).toBeNull();
    expect(basicCredentials('Basic not base64!')).toBeNull();
  });
});
