import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chartSchemaFiles, staleChartSchemas, writeChartSchemas } from './schemas.js';

// A small charts/ folder: the library chart with the shared schema, two service charts and an
// umbrella chart that depends on both.
let root: string;
let charts: string;

const shared = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  description: 'Shared keys.',
  type: 'object',
  additionalProperties: false,
  required: ['image'],
  properties: {
    enabled: { type: 'boolean', description: 'Switch.' },
    image: { type: 'object', description: 'Image.', properties: { owner: { $ref: '#/definitions/labelValue' } } },
  },
  definitions: {
    labelValue: { type: 'string', description: 'A label value.', maxLength: 63 },
    resourceName: { type: 'string', description: 'An object name.', maxLength: 253 },
    unused: { type: 'string', description: 'Referred to by nothing in the umbrella.' },
  },
};

function write(path: string, content: unknown): void {
  const file = join(charts, path);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
}

function serviceChart(name: string, part: unknown): void {
  write(
    `${name}/Chart.yaml`,
    `apiVersion: v2\nname: ${name}\ntype: application\nversion: 0.1.0\ndependencies:\n  - name: common\n    version: 0.1.0\n    repository: file://../common\n`,
  );
  if (part) write(`${name}/values.schema.service.json`, part);
}

function umbrellaChart(dependencies: string): void {
  write(`platform/Chart.yaml`, `apiVersion: v2\nname: platform\nversion: 0.1.0\ndependencies:\n${dependencies}`);
  write('platform/values.schema.umbrella.json', {
    title: 'platform values',
    description: 'The umbrella.',
    type: 'object',
    additionalProperties: false,
    required: ['global'],
    properties: {
      global: { type: 'object', description: 'Shared.', properties: { owner: { $ref: '#/definitions/labelValue' } } },
    },
  });
}

const dependency = (name: string, condition = `${name}.enabled`) =>
  `  - name: ${name}\n    version: 0.1.0\n    repository: file://../${name}\n    condition: ${condition}\n`;

const generated = (chart: string) =>
  JSON.parse(chartSchemaFiles(charts).get(join(charts, chart, 'values.schema.json')) ?? 'null') as Record<
    string,
    unknown
  >;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'chart-schemas-'));
  charts = join(root, 'charts');
  write('common/Chart.yaml', 'apiVersion: v2\nname: common\ntype: library\nversion: 0.1.0\n');
  write('common/values.schema.shared.json', shared);
  serviceChart('ingest', {
    title: 'ingest values',
    description: 'The ingest chart.',
    required: ['webhooks'],
    properties: { webhooks: { type: 'object', description: 'Webhooks.' } },
  });
  serviceChart('escalation', {
    title: 'escalation values',
    description: 'The escalation chart.',
    properties: { oidc: { $ref: '#/definitions/issuer', description: 'OIDC.' } },
    definitions: { issuer: { type: 'string', description: 'An issuer URL.' } },
  });
  umbrellaChart(dependency('ingest') + dependency('escalation'));
});

afterEach(() => rmSync(root, { recursive: true, force: true }));

describe(chartSchemaFiles.name, () => {
  it('writes a service schema as the shared keys followed by the chart’s own', () => {
    const schema = generated('ingest');
    expect(Object.keys(schema)).toEqual([
      '$schema',
      'title',
      'description',
      'type',
      'additionalProperties',
      'required',
      'properties',
      'definitions',
    ]);
    expect(schema.title).toBe('ingest values');
    expect(schema.description).toBe('The ingest chart.');
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(['image', 'webhooks']);
    expect(Object.keys(schema.properties as object)).toEqual(['enabled', 'image', 'webhooks']);
    expect(Object.keys(schema.definitions as object)).toEqual(['labelValue', 'resourceName', 'unused']);
    expect(Object.keys(generated('escalation').definitions as object)).toEqual([
      'labelValue',
      'resourceName',
      'unused',
      'issuer',
    ]);
  });

  it('gives the umbrella one switch per dependency and only the shared definitions it uses', () => {
    const schema = generated('platform');
    expect(schema.required).toEqual(['global']);
    expect(Object.keys(schema.properties as object)).toEqual(['global', 'ingest', 'escalation']);
    expect((schema.properties as Record<string, unknown>).escalation).toEqual({
      type: 'object',
      description: 'escalation values (validated by charts/escalation/values.schema.json).',
      properties: { enabled: { type: 'boolean', description: 'Install escalation.' } },
    });
    expect(Object.keys(schema.definitions as object)).toEqual(['labelValue']);
  });

  it('picks up a new service chart and umbrella dependency with no other change', () => {
    serviceChart('status', { title: 'status values', description: 'The status chart.' });
    umbrellaChart(dependency('ingest') + dependency('escalation') + dependency('status'));
    expect([...chartSchemaFiles(charts).keys()].map((f) => f.slice(charts.length + 1))).toEqual([
      'escalation/values.schema.json',
      'ingest/values.schema.json',
      'platform/values.schema.json',
      'status/values.schema.json',
    ]);
    expect(Object.keys(generated('platform').properties as object)).toContain('status');
  });

  it('refuses a service part that redefines a shared key, naming both files', () => {
    serviceChart('ingest', { title: 't', description: 'd', properties: { image: { type: 'string' } } });
    expect(() => chartSchemaFiles(charts)).toThrow(
      'charts/ingest/values.schema.service.json: properties.image is already defined in charts/common/values.schema.shared.json',
    );
  });

  it('refuses a $ref to a definition that no source defines', () => {
    serviceChart('ingest', {
      title: 't',
      description: 'd',
      properties: { webhooks: { $ref: '#/definitions/nope', description: 'x' } },
    });
    expect(() => chartSchemaFiles(charts)).toThrow(
      'charts/ingest/values.schema.json: properties.webhooks.$ref "#/definitions/nope" names no definition',
    );
  });

  it('refuses a service chart without its own part instead of skipping it', () => {
    serviceChart('status', undefined);
    expect(() => chartSchemaFiles(charts)).toThrow('charts/status is a service chart (it depends on common)');
  });

  it('refuses an umbrella dependency that `<name>.enabled` would not switch', () => {
    umbrellaChart(dependency('ingest', 'ingest.on'));
    expect(() => chartSchemaFiles(charts)).toThrow('dependency ingest needs `condition: ingest.enabled`');
  });

  it('refuses unknown top-level keys and required names that are not properties', () => {
    serviceChart('ingest', { title: 't', description: 'd', additionalProperties: true });
    expect(() => chartSchemaFiles(charts)).toThrow('unexpected top-level additionalProperties');
    serviceChart('ingest', { title: 't', description: 'd', required: ['webhook'] });
    expect(() => chartSchemaFiles(charts)).toThrow('required names webhook, which is not one of its properties');
  });
});

describe(staleChartSchemas.name, () => {
  it('lists missing and edited files until they are written, then nothing', () => {
    expect(staleChartSchemas(charts)).toEqual([
      'charts/escalation/values.schema.json',
      'charts/ingest/values.schema.json',
      'charts/platform/values.schema.json',
    ]);
    expect(writeChartSchemas(charts)).toHaveLength(3);
    expect(staleChartSchemas(charts)).toEqual([]);
    expect(writeChartSchemas(charts)).toEqual([]);

    const file = join(charts, 'ingest', 'values.schema.json');
    expect(readFileSync(file, 'utf8').endsWith('}\n')).toBe(true);
    writeFileSync(file, readFileSync(file, 'utf8').replace('"webhooks"', '"webhook"'));
    expect(staleChartSchemas(charts)).toEqual(['charts/ingest/values.schema.json']);
  });
});
