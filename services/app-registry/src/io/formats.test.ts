import { InputError } from '@micro-oncall/service-kit';
import { describe, expect, it } from 'vitest';
import {
  formatBackstageExport,
  formatCsvExport,
  formatYamlExport,
  parseBackstageImport,
  parseCsvImport,
  parseImport,
  parseYamlImport,
} from './formats.js';

const HEADER =
  'name,purpose,owner_name,owner_contact,team_name,team_contact,runtime,impact,exposure,data_classes,tags,endpoints,dedicated_namespace';

function refusal(fn: () => unknown): InputError {
  try {
    fn();
  } catch (error) {
    if (error instanceof InputError) return error;
    throw error;
  }
  throw new Error('expected the import to be refused');
}

describe('parseCsvImport', () => {
  it('reads apps with lists, endpoints and booleans', () => {
    const { apps } = parseCsvImport(
      `${HEADER}\nexpense-approvals,"Approve expenses, fast",Grace Hopper,grace@example.com,finance-tools,#finance,container,business_critical,authenticated_api,pii;internal,finance;eu,expenses.example.com/api;expenses.example.com,yes\n`,
    );
    expect(apps).toHaveLength(1);
    expect(apps[0]).toMatchObject({
      row: 1,
      line: 2,
      state: 'active',
      fields: {
        name: 'expense-approvals',
        purpose: 'Approve expenses, fast',
        owner: { name: 'Grace Hopper', contact: 'grace@example.com' },
        team: { name: 'finance-tools', contact: '#finance' },
        dataClasses: ['pii', 'internal'],
        tags: ['finance', 'eu'],
        endpoints: [
          { host: 'expenses.example.com', path: '/api' },
          { host: 'expenses.example.com', path: '/' },
        ],
        dedicatedNamespace: true,
        sla: 'best_effort',
      },
    });
  });

  it('refuses the whole file naming the row, line and column of a bad value', () => {
    const error = refusal(() =>
      parseCsvImport(
        `${HEADER}\ngood-app,,,,team,#t,container,experimental,internal_network,,,,no\nbad-app,,,,team,#t,container,galactic,internal_network,,,,no\n`,
      ),
    );
    expect(error.message).toMatch(/^import refused, nothing was imported: row 2 \(line 3\) field impact: /);
    expect(error.details?.issues).toEqual([expect.objectContaining({ row: 2, line: 3, field: 'impact' })]);
  });

  it('names an owner half filled in by its column', () => {
    const error = refusal(() =>
      parseCsvImport(`${HEADER}\nx,,Grace,,team,#t,container,experimental,internal_network,,,,\n`),
    );
    expect(error.details?.issues).toEqual([expect.objectContaining({ row: 1, field: 'owner_contact' })]);
  });

  it('refuses a name twice in one file, an unknown column and a missing required column', () => {
    const twice = refusal(() =>
      parseCsvImport(
        `${HEADER}\na,,,,t,#t,wasm,experimental,internal_network,,,,\na,,,,t,#t,wasm,experimental,internal_network,,,,\n`,
      ),
    );
    expect(twice.details?.issues).toEqual([
      expect.objectContaining({ row: 2, field: 'name', message: 'a is already in row 1 of this file' }),
    ]);
    expect(refusal(() => parseCsvImport('name,colour\na,red\n')).message).toMatch(/unknown column "colour"/);
    expect(refusal(() => parseCsvImport('name\na\n')).message).toMatch(/the required column team_name is missing/);
  });

  it('refuses a row with more cells than the header', () => {
    expect(
      refusal(() =>
        parseCsvImport(
          'name,team_name,team_contact,runtime,impact,exposure\na,t,c,wasm,experimental,internal_network,extra\n',
        ),
      ).message,
    ).toMatch(/row 1 \(line 2\): 7 cells where the header has 6/);
  });
});

describe('parseYamlImport', () => {
  it('reads apps in the API shape, with state and last activity', () => {
    const { apps } = parseYamlImport(`apps:
  - name: wiki-bot
    team: { name: docs, contact: "#docs" }
    runtime: wasm
    impact: experimental
    exposure: internal_network
    state: idle
    lastActivityAt: 2026-01-02T03:04:05Z
`);
    expect(apps[0]).toMatchObject({
      row: 1,
      line: 2,
      state: 'idle',
      lastActivityAt: '2026-01-02T03:04:05.000Z',
      fields: { name: 'wiki-bot' },
    });
  });

  it('names the item, its line and the field path', () => {
    const error = refusal(() =>
      parseYamlImport(`apps:
  - name: ok-app
    team: { name: docs, contact: "#docs" }
    runtime: wasm
    impact: experimental
    exposure: internal_network
  - name: Not_A_Name
    team: { name: docs }
    runtime: wasm
    impact: experimental
    exposure: internal_network
`),
    );
    expect(error.details?.issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ row: 2, line: 7, field: 'name' }),
        expect.objectContaining({ row: 2, line: 7, field: 'team.contact' }),
      ]),
    );
  });

  it('refuses YAML that does not parse, with its line', () => {
    expect(refusal(() => parseYamlImport('apps:\n  - name: [unclosed\n')).message).toMatch(/not valid YAML/);
  });
});

const CATALOG = `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: expense-approvals
  description: Approve expenses
  tags: [finance]
  annotations:
    github.com/project-slug: acme/expense-approvals
    micro-oncall.io/data-classes: pii
    micro-oncall.io/runtime: container
spec:
  type: service
  lifecycle: production
  owner: group:default/finance-tools
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata:
  name: expense-api
spec:
  type: openapi
  owner: finance-tools
---
apiVersion: backstage.io/v1alpha1
kind: System
metadata:
  name: old-reports
spec:
  owner: user:jdoe
  lifecycle: deprecated
`;

describe('parseBackstageImport', () => {
  it('turns Components and Systems into apps and skips other kinds', () => {
    expect(() => parseBackstageImport(CATALOG)).toThrow(/micro-oncall.io\/team/);
    const fixed = CATALOG.replace('  owner: user:jdoe', '  owner: user:jdoe').replace(
      'metadata:\n  name: old-reports',
      'metadata:\n  name: old-reports\n  annotations:\n    micro-oncall.io/team: reporting',
    );
    const { apps, skipped } = parseBackstageImport(fixed);
    expect(skipped).toEqual([{ row: 2, line: 16, kind: 'API' }]);
    expect(apps.map((a) => [a.fields.name, a.state, a.originRef])).toEqual([
      ['expense-approvals', 'active', 'component:default/expense-approvals'],
      ['old-reports', 'disabled', 'system:default/old-reports'],
    ]);
    expect(apps[0]?.fields).toMatchObject({
      team: { name: 'finance-tools', contact: 'group:default/finance-tools' },
      repository: 'https://github.com/acme/expense-approvals',
      dataClasses: ['pii'],
      runtime: 'container',
      impact: 'business_helpful',
      exposure: 'authenticated_api',
    });
    expect(apps[1]?.fields).toMatchObject({ owner: { name: 'jdoe' }, team: { name: 'reporting' } });
  });

  it('names the entity, its line and the Backstage field of a bad value', () => {
    const error = refusal(() =>
      parseBackstageImport(CATALOG.replace('micro-oncall.io/runtime: container', 'micro-oncall.io/runtime: mainframe')),
    );
    expect(error.details?.issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ row: 1, line: 1, field: 'metadata.annotations["micro-oncall.io/runtime"]' }),
      ]),
    );
  });

  it('is recognised in a YAML body', () => {
    const fixed = CATALOG.replace(
      'metadata:\n  name: old-reports',
      'metadata:\n  name: old-reports\n  annotations:\n    micro-oncall.io/team: reporting',
    );
    expect(parseImport('yaml', fixed).apps).toHaveLength(2);
  });
});

describe('exports', () => {
  const row = {
    id: 'app_0123456789abcdef01234567',
    fields: parseCsvImport(
      `${HEADER}\nexpense-approvals,"=cmd, really",Grace Hopper,grace@example.com,finance-tools,#finance,container,business_critical,authenticated_api,pii,finance,expenses.example.com/api,yes\n`,
    ).apps[0]!.fields,
    state: 'active' as const,
    tier: 'high' as const,
    riskScore: 24,
    openViolations: 2,
    lastActivityAt: '2026-11-01T00:00:00.000Z',
    createdAt: '2026-10-01T00:00:00.000Z',
    updatedAt: '2026-10-02T00:00:00.000Z',
  };

  it('CSV, YAML and Backstage exports import again to the same app', () => {
    for (const [format, text] of [
      ['csv', formatCsvExport([row])],
      ['yaml', formatYamlExport([row])],
      ['backstage', formatBackstageExport([row])],
    ] as const) {
      const { apps } = parseImport(format, text);
      expect(apps[0]?.fields, format).toMatchObject({
        name: 'expense-approvals',
        team: { name: 'finance-tools', contact: '#finance' },
        dataClasses: ['pii'],
        dedicatedNamespace: true,
        endpoints: [{ host: 'expenses.example.com', path: '/api' }],
      });
      if (format !== 'backstage') expect(apps[0]?.fields.purpose).toBe('=cmd, really');
    }
  });

  it('neutralises spreadsheet formulas in CSV cells', () => {
    expect(formatCsvExport([row])).toContain(`"'=cmd, really"`);
  });
});
