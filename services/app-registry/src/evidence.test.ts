import { InputError } from '@micro-oncall/service-kit';
import { describe, expect, it } from 'vitest';
import { DEFAULT_EVIDENCE_MAX_AGE_DAYS, evidenceAge, staleFrom, summariseEvidence } from './evidence.js';

const cyclonedx = {
  bomFormat: 'CycloneDX',
  specVersion: '1.6',
  serialNumber: 'urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79',
  version: 1,
  metadata: { timestamp: '2026-11-30T10:00:00Z', component: { type: 'application', name: 'expense-approvals' } },
  components: [
    { type: 'library', name: 'express', version: '5.1.0', purl: 'pkg:npm/express@5.1.0' },
    { type: 'library', name: 'zod', version: '4.1.12', purl: 'pkg:npm/zod@4.1.12' },
  ],
};

const spdx = {
  spdxVersion: 'SPDX-2.3',
  dataLicense: 'CC0-1.0',
  SPDXID: 'SPDXRef-DOCUMENT',
  name: 'expense-approvals',
  documentNamespace: 'https://example.com/spdx/expense-approvals-1',
  creationInfo: { created: '2026-11-30T10:00:00Z', creators: ['Tool: syft-1.0'] },
  packages: [{ SPDXID: 'SPDXRef-Package-express', name: 'express', downloadLocation: 'NOASSERTION' }],
};

const sarif = (results: unknown[]) => ({
  version: '2.1.0',
  $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
  runs: [
    {
      tool: {
        driver: {
          name: 'gitleaks',
          rules: [{ id: 'aws-access-token', defaultConfiguration: { level: 'error' } }, { id: 'generic-api-key' }],
        },
      },
      results,
    },
  ],
});

describe('summariseEvidence', () => {
  it('summarises a CycloneDX SBOM by its components', () => {
    const s = summariseEvidence({ kind: 'sbom', document: cyclonedx });
    expect(s).toMatchObject({ kind: 'sbom', format: 'CycloneDX 1.6', summary: { format: 'CycloneDX', components: 2 } });
    expect(s.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('summarises an SPDX document by its packages', () => {
    expect(summariseEvidence({ kind: 'sbom', document: spdx })).toMatchObject({
      format: 'SPDX-2.3',
      summary: { format: 'SPDX', components: 1 },
    });
  });

  it('refuses an SBOM that breaks its specification, naming the field', () => {
    const error = (() => {
      try {
        summariseEvidence({ kind: 'sbom', document: { ...spdx, dataLicense: 'MIT' } });
      } catch (e) {
        return e as InputError;
      }
    })();
    expect(error).toBeInstanceOf(InputError);
    expect(error?.message).toMatch(/document\.dataLicense/);
    expect(() => summariseEvidence({ kind: 'sbom', document: { hello: 'world' } })).toThrow(
      /CycloneDX JSON .* or SPDX 2.3 JSON/,
    );
  });

  it('counts SARIF results by level, a result without one taking its rule’s default, else warning', () => {
    const s = summariseEvidence({
      kind: 'secret_scan',
      document: sarif([
        { ruleId: 'aws-access-token', message: { text: 'AWS key in config.js' } },
        { ruleId: 'generic-api-key', message: { text: 'maybe a key' } },
        { ruleId: 'generic-api-key', level: 'note', message: { id: 'default' } },
      ]),
    });
    expect(s.summary).toMatchObject({
      tool: 'gitleaks',
      results_by_level: { error: 1, warning: 1, note: 1, none: 0 },
      top_rules: [
        { rule: 'generic-api-key', count: 2 },
        { rule: 'aws-access-token', count: 1 },
      ],
    });
  });

  it('refuses a SARIF result without a message text or id', () => {
    expect(() =>
      summariseEvidence({ kind: 'dependency_scan', document: sarif([{ ruleId: 'x', message: {} }]) }),
    ).toThrow(/document\.runs\.0\.results\.0\.message: a message needs text or id/);
  });

  it('keeps the SSO client id', () => {
    expect(summariseEvidence({ kind: 'sso', clientId: '0oa1b2c3d4' })).toMatchObject({
      format: 'oidc-client',
      summary: { client_id: '0oa1b2c3d4' },
    });
  });
});

describe('evidence age', () => {
  const posted = '2026-11-01T10:00:00.000Z';
  const at = (iso: string) => new Date(iso);

  it('counts whole days since the evidence was posted, with the maximum for its kind', () => {
    expect(evidenceAge(posted, at('2026-12-01T09:59:59Z'), 30)).toEqual({
      received_at: posted,
      age_days: 29,
      max_age_days: 30,
    });
    expect(evidenceAge(posted, at('2026-12-02T10:00:00Z'), 30).age_days).toBe(31);
  });

  it('never reports a negative age (a pipeline clock ahead of ours)', () => {
    expect(evidenceAge(posted, at('2026-10-31T10:00:00Z'), 30).age_days).toBe(0);
  });

  it('stops counting the day after its maximum age', () => {
    // 30 days old still counts; from 31 days on it is stale.
    expect(staleFrom(posted, 30).toISOString()).toBe('2026-12-02T10:00:00.000Z');
    expect(evidenceAge(posted, staleFrom(posted, 30), 30).age_days).toBe(31);
  });

  it('gives scans a month, SBOMs a quarter and SSO client ids a year unless configured', () => {
    expect(DEFAULT_EVIDENCE_MAX_AGE_DAYS).toEqual({ sbom: 90, secret_scan: 30, dependency_scan: 30, sso: 365 });
  });
});
