import { describe, expect, it } from 'vitest';
import { azureActivitySighting } from './azure-activity.js';

const origin = { file: 'activity.json', line: 2, text: '{}' };
const site =
  '/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/rg-finance/providers/Microsoft.Web/sites/Expense-Approvals';

function restEvent(operation: string, status: string, fields: Record<string, unknown> = {}) {
  return {
    caller: 'maria@contoso.example',
    eventDataId: 'ed-1',
    eventTimestamp: '2026-12-01T08:00:04.7654321Z',
    operationName: { value: operation, localizedValue: 'x' },
    resourceId: site,
    status: { value: status, localizedValue: status },
    ...fields,
  };
}

describe('azureActivitySighting', () => {
  it('reads a succeeded web app write, resource id lower-cased, with its caller', () => {
    expect(azureActivitySighting(restEvent('Microsoft.Web/sites/write', 'Succeeded'), origin)).toEqual({
      format: 'azure-activity',
      kind: 'container-app',
      action: 'create',
      match: { resourceId: site.toLowerCase() },
      label: 'Expense-Approvals',
      at: new Date('2026-12-01T08:00:04.765Z'),
      actor: 'maria@contoso.example',
      recordId: 'ed-1',
      evidence: origin,
    });
  });

  it('tells a function app from its request body', () => {
    const event = restEvent('Microsoft.Web/sites/write', 'Succeeded', {
      properties: { requestbody: '{"location":"West Europe","kind":"functionapp,linux"}' },
    });
    expect(azureActivitySighting(event, origin)?.kind).toBe('function');
  });

  it('reads container apps, API Management and storage accounts; only Succeeded', () => {
    expect(azureActivitySighting(restEvent('Microsoft.App/containerApps/write', 'Succeeded'), origin)?.kind).toBe(
      'container-app',
    );
    expect(azureActivitySighting(restEvent('Microsoft.ApiManagement/service/write', 'Succeeded'), origin)?.kind).toBe(
      'api-gateway',
    );
    expect(azureActivitySighting(restEvent('Microsoft.Storage/storageAccounts/write', 'Succeeded'), origin)?.kind).toBe(
      'bucket',
    );
    for (const status of ['Started', 'Accepted', 'Failed'])
      expect(azureActivitySighting(restEvent('Microsoft.Web/sites/write', status), origin)).toBeUndefined();
    expect(azureActivitySighting(restEvent('Microsoft.Web/sites/config/write', 'Succeeded'), origin)).toBeUndefined();
  });

  it('reads the flat export shape, the actor from the identity claims', () => {
    const record = {
      time: '2026-12-01T11:00:05.0000000Z',
      resourceId: '/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG-API/PROVIDERS/MICROSOFT.APIMANAGEMENT/SERVICE/CONTOSO-APIM',
      operationName: 'MICROSOFT.APIMANAGEMENT/SERVICE/WRITE',
      resultType: 'Success',
      identity: { claims: { 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn': 'tomas@contoso.example' } },
      properties: {},
    };
    expect(azureActivitySighting(record, origin)).toMatchObject({
      kind: 'api-gateway',
      match: {
        resourceId: '/subscriptions/s/resourcegroups/rg-api/providers/microsoft.apimanagement/service/contoso-apim',
      },
      actor: 'tomas@contoso.example',
      at: new Date('2026-12-01T11:00:05Z'),
    });
    expect(azureActivitySighting({ ...record, resultType: 'Start' }, origin)).toBeUndefined();
  });
});
