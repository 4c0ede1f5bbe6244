import { describe, expect, it } from 'vitest';
import { gcpAuditSighting } from './gcp-audit.js';

const origin = { file: 'cloudaudit.googleapis.com/activity/2026/12/01/08:00:00_08:59:59_S0.json', line: 4, text: '{}' };

function entry(methodName: string, payload: Record<string, unknown> = {}) {
  return {
    insertId: 'abc123',
    timestamp: '2026-12-01T08:45:12.554812Z',
    logName: 'projects/acme-prod/logs/cloudaudit.googleapis.com%2Factivity',
    protoPayload: {
      '@type': 'type.googleapis.com/google.cloud.audit.AuditLog',
      authenticationInfo: { principalEmail: 'ravi@example.com' },
      methodName,
      resourceName: 'projects/acme-prod/locations/europe-west1/services/expense-bot',
      ...payload,
    },
  };
}

describe('gcpAuditSighting', () => {
  it('reads a Cloud Run service creation with who created it and its URL', () => {
    const sighting = gcpAuditSighting(
      entry('google.cloud.run.v1.Services.CreateService', {
        resourceName: 'namespaces/acme-prod/services/expense-bot',
        status: {},
        response: { status: { url: 'https://expense-bot-4xkq2m3pza-ew.a.run.app' } },
      }),
      origin,
    );
    expect(sighting).toEqual({
      format: 'gcp-audit',
      kind: 'container-app',
      action: 'create',
      match: { resourceId: 'namespaces/acme-prod/services/expense-bot', host: 'expense-bot-4xkq2m3pza-ew.a.run.app' },
      label: 'expense-bot',
      at: new Date('2026-12-01T08:45:12.554Z'),
      actor: 'ravi@example.com',
      recordId: 'abc123',
      evidence: origin,
    });
  });

  it('reads v2 Cloud Run, service replacements and Cloud Functions v1 and v2', () => {
    expect(gcpAuditSighting(entry('google.cloud.run.v2.Services.CreateService'), origin)).toMatchObject({
      kind: 'container-app',
      action: 'create',
    });
    expect(gcpAuditSighting(entry('google.cloud.run.v1.Services.ReplaceService'), origin)).toMatchObject({
      action: 'deploy',
    });
    expect(gcpAuditSighting(entry('google.cloud.run.v2.Services.UpdateService'), origin)).toMatchObject({
      action: 'deploy',
    });
    for (const method of [
      'google.cloud.functions.v1.CloudFunctionsService.CreateFunction',
      'google.cloud.functions.v2.FunctionService.CreateFunction',
    ]) {
      expect(
        gcpAuditSighting(
          entry(method, { resourceName: 'projects/acme-prod/locations/europe-west1/functions/thumbs' }),
          origin,
        ),
      ).toMatchObject({ kind: 'function', action: 'create', label: 'thumbs' });
    }
  });

  it('ignores failures (status code other than 0) and other methods', () => {
    expect(
      gcpAuditSighting(
        entry('google.cloud.run.v1.Services.CreateService', { status: { code: 7, message: 'denied' } }),
        origin,
      ),
    ).toBeUndefined();
    expect(
      gcpAuditSighting(entry('google.cloud.run.v1.Services.CreateService', { status: { code: 0 } }), origin),
    ).toBeDefined();
    expect(gcpAuditSighting(entry('google.cloud.run.v1.Services.GetService'), origin)).toBeUndefined();
    expect(gcpAuditSighting({ insertId: 'x', textPayload: 'hello' }, origin)).toBeUndefined();
  });
});
