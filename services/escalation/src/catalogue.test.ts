import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ServiceCatalogue } from './catalogue.js';

const example = readFileSync(new URL('../config/services.example.yml', import.meta.url), 'utf8');

describe(ServiceCatalogue.name, () => {
  it('finds owners, the oncall handle and contacts of a known service', () => {
    const owner = ServiceCatalogue.fromYaml(example).lookup('payments-api');
    expect(owner).toMatchObject({ owned: true, team: 'payments', oncall: '@payments-oncall', priority: 'critical' });
    expect(owner.owners).toEqual(['alice@example.com', 'oncall:team-payments']);
    expect(owner.contacts).toContainEqual({ type: 'slack', value: '#payments-incidents' });
  });

  it('reads a priority written before ADR 0008 (p0…p4) as the severity it meant, and defaults to medium', () => {
    const file = (priority: string) =>
      `version: 1\ndefaults: { fallback: { name: SRE } }\nservices:\n  api: { team: core, owners: [x]${priority} }\n`;
    expect(ServiceCatalogue.fromYaml(file(', priority: p0')).lookup('api').priority).toBe('critical');
    expect(ServiceCatalogue.fromYaml(file(', priority: p3')).lookup('api').priority).toBe('low');
    expect(ServiceCatalogue.fromYaml(file('')).lookup('api').priority).toBe('medium');
    expect(() => ServiceCatalogue.fromYaml(file(', priority: P1'))).toThrow(/services\.api\.priority/);
  });

  it('resolves aliases to the same service', () => {
    expect(ServiceCatalogue.fromYaml(example).lookup('payments').service).toBe('payments-api');
  });

  it('marks unknown services unowned with the default fallback instead of dropping them', () => {
    const owner = ServiceCatalogue.fromYaml(example).lookup('ledger');
    expect(owner).toMatchObject({ owned: false, service: 'ledger', owners: [], fallback: { name: 'SRE on-call' } });
  });

  it('uses a service-specific fallback when one is set', () => {
    expect(ServiceCatalogue.fromYaml(example).lookup('checkout').fallback.name).toBe('Storefront engineering manager');
  });

  it('rejects a catalogue with a service without owners, naming the field', () => {
    const bad = 'version: 1\ndefaults: { fallback: { name: SRE } }\nservices:\n  api: { team: core, owners: [] }\n';
    expect(() => ServiceCatalogue.fromYaml(bad)).toThrow(/services\.api\.owners/);
  });

  it('rejects invalid service keys, unknown contact types and a wrong version', () => {
    expect(() =>
      ServiceCatalogue.fromYaml('version: 2\ndefaults: { fallback: { name: SRE } }\nservices: {}\n'),
    ).toThrow(/version/);
    expect(() =>
      ServiceCatalogue.fromYaml(
        'version: 1\ndefaults: { fallback: { name: SRE } }\nservices:\n  "Bad Key": { team: a, owners: [x] }\n',
      ),
    ).toThrow(/Bad Key/);
    expect(() =>
      ServiceCatalogue.fromYaml(
        'version: 1\ndefaults: { fallback: { name: SRE } }\nservices:\n  api: { team: a, owners: [x], contacts: [{ type: fax, value: "1" }] }\n',
      ),
    ).toThrow(/contacts/);
  });

  it('rejects an alias that clashes with another service', () => {
    const clash =
      'version: 1\ndefaults: { fallback: { name: SRE } }\nservices:\n  api: { team: a, owners: [x] }\n  web: { team: b, owners: [y], aliases: [api] }\n';
    expect(() => ServiceCatalogue.fromYaml(clash)).toThrow(/names both/);
  });

  it('reports YAML syntax errors as such', () => {
    expect(() => ServiceCatalogue.fromYaml('version: [1')).toThrow(/not valid YAML/);
  });
});
