// Chart values schemas, generated rather than copied.
//
// Helm validates values against the one values.schema.json inside each chart, and a `$ref` to a
// file outside the chart would not survive `helm package`, so every service chart has to carry
// the shared keys in full. They are written once, in charts/common/values.schema.shared.json;
// each chart keeps only its own part beside its Chart.yaml:
//
//   values.schema.service.json   a service chart: title, description, and its own `required`,
//                                `properties` and `definitions`. The result is the shared schema
//                                plus that part (a service may add keys, never redefine shared
//                                ones).
//   values.schema.umbrella.json  the umbrella chart: its own keys (global, x-*). Each dependency
//                                in its Chart.yaml adds a `<service>.enabled` switch, and the
//                                shared definitions it refers to are copied in.
//
// `tsx scripts/chart-schemas.ts` writes charts/*/values.schema.json; `--check` (run by npm test)
// fails when a committed file differs from what would be written.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { type Chart, chartsDir, discoverCharts } from './discover.js';

export const servicePartFile = 'values.schema.service.json';
export const umbrellaPartFile = 'values.schema.umbrella.json';
const sharedFile = join('common', 'values.schema.shared.json');
/** Top-level keys a source part may have, in the order they are written out. */
const serviceKeys = ['title', 'description', 'required', 'properties', 'definitions'];
const umbrellaKeys = [
  'title',
  'description',
  'type',
  'additionalProperties',
  'patternProperties',
  'required',
  'properties',
  'definitions',
];

type JsonObject = Record<string, unknown>;

interface SharedSchema extends JsonObject {
  $schema: string;
  required: string[];
  properties: JsonObject;
  definitions: JsonObject;
}

/** Names files in messages as the repository does: charts/<chart>/<file>. */
type Show = (path: string) => string;

/**
 * Every generated values.schema.json of the charts in `dir` (default charts/): absolute path →
 * content (2-space JSON with a trailing newline; keys in a fixed order, so the output changes
 * only when a source does). Throws, naming the file, when a source part is malformed or
 * contradicts the shared schema.
 */
export function chartSchemaFiles(dir: string = chartsDir): Map<string, string> {
  const show: Show = (path) => relative(dirname(dir), path);
  const shared = readShared(join(dir, sharedFile), show);
  const files = new Map<string, string>();
  for (const chart of discoverCharts(dir)) {
    const servicePart = join(chart.dir, servicePartFile);
    const umbrellaPart = join(chart.dir, umbrellaPartFile);
    let schema: JsonObject;
    if (existsSync(servicePart) && existsSync(umbrellaPart)) {
      throw new Error(`${show(chart.dir)} has both ${servicePartFile} and ${umbrellaPartFile}; keep the one it is`);
    } else if (existsSync(servicePart)) {
      const part = readPart(servicePart, serviceKeys, show);
      schema = serviceSchema(shared, part, show(servicePart), show(join(dir, sharedFile)));
    } else if (existsSync(umbrellaPart)) {
      const part = readPart(umbrellaPart, umbrellaKeys, show);
      schema = umbrellaSchema(shared, part, show(umbrellaPart), chart, show);
    } else if (!chart.library && chart.dependencies.some((d) => d.name === 'common')) {
      throw new Error(
        `${show(chart.dir)} is a service chart (it depends on common) but has no ${servicePartFile}: put its ` +
          `title, description and its own required keys, properties and definitions there ` +
          `(like charts/webhook-ingest/${servicePartFile}), then run scripts/chart-schemas.ts`,
      );
    } else {
      continue;
    }
    const file = join(chart.dir, 'values.schema.json');
    checkReferences(schema, show(file));
    files.set(file, `${JSON.stringify(schema, null, 2)}\n`);
  }
  return files;
}

/** The generated files whose committed content differs or that are missing (as charts/<chart>/values.schema.json). */
export function staleChartSchemas(dir: string = chartsDir): string[] {
  return [...chartSchemaFiles(dir)]
    .filter(([file, content]) => readOrNull(file) !== content)
    .map(([file]) => relative(dirname(dir), file));
}

/** Writes the generated files that changed; returns them as charts/<chart>/values.schema.json. */
export function writeChartSchemas(dir: string = chartsDir): string[] {
  const written: string[] = [];
  for (const [file, content] of chartSchemaFiles(dir)) {
    if (readOrNull(file) === content) continue;
    writeFileSync(file, content);
    written.push(relative(dirname(dir), file));
  }
  return written;
}

// ---------------------------------------------------------------------------------------------

function serviceSchema(shared: SharedSchema, part: JsonObject, file: string, sharedName: string): JsonObject {
  const properties = object(part.properties, `${file}: properties`);
  const definitions = object(part.definitions, `${file}: definitions`);
  const required = strings(part.required, `${file}: required`);
  for (const [section, own, common] of [
    ['properties', properties, shared.properties],
    ['definitions', definitions, shared.definitions],
  ] as const) {
    for (const key of Object.keys(own)) {
      if (key in common) {
        throw new Error(
          `${file}: ${section}.${key} is already defined in ${sharedName}; ` +
            'a service chart adds keys of its own and never redefines shared ones',
        );
      }
    }
  }
  for (const key of required) {
    if (!(key in properties)) {
      throw new Error(`${file}: required names ${key}, which is not one of its properties`);
    }
  }
  // The shared file's own description explains the file; the chart's part describes the chart.
  const { $schema, description: _, required: sharedRequired, properties: common, definitions: defs, ...rest } = shared;
  return {
    $schema,
    title: part.title,
    description: part.description,
    ...rest,
    required: [...sharedRequired, ...required],
    properties: { ...common, ...properties },
    definitions: { ...defs, ...definitions },
  };
}

function umbrellaSchema(shared: SharedSchema, part: JsonObject, file: string, chart: Chart, show: Show): JsonObject {
  const properties = { ...object(part.properties, `${file}: properties`) };
  const required = strings(part.required, `${file}: required`);
  const chartFile = show(join(chart.dir, 'Chart.yaml'));
  for (const dependency of chart.dependencies) {
    const key = dependency.alias ?? dependency.name;
    if (key in properties) {
      throw new Error(`${file}: properties.${key} is generated from the ${key} dependency in ${chartFile}; remove it`);
    }
    if (dependency.condition !== `${key}.enabled`) {
      throw new Error(
        `${chartFile}: dependency ${key} needs \`condition: ${key}.enabled\` so that ${key}.enabled switches it`,
      );
    }
    const source = dependency.repository.startsWith('file://')
      ? `${show(resolve(chart.dir, dependency.repository.slice('file://'.length)))}/values.schema.json`
      : `the ${dependency.name} chart's values.schema.json`;
    // Neither the block nor `enabled` is required: the service chart's values.yaml defaults
    // `enabled` to true and Helm merges those defaults in before the dependency condition and
    // the install-time validation, so the umbrella's values.yaml needs no block for a service
    // that runs with its defaults (and `helm lint`, which validates values.yaml alone, passes).
    properties[key] = {
      type: 'object',
      description: `${key} values (validated by ${source}).`,
      properties: { enabled: { type: 'boolean', description: `Install ${key}.` } },
    };
  }
  const own = object(part.definitions, `${file}: definitions`);
  for (const key of Object.keys(own)) {
    if (key in shared.definitions) {
      throw new Error(`${file}: definitions.${key} is already one of the shared definitions; refer to that instead`);
    }
  }
  const used = referencedDefinitions(
    { properties, patternProperties: part.patternProperties, own },
    shared.definitions,
  );
  const definitions = Object.fromEntries([
    ...Object.entries(shared.definitions).filter(([key]) => used.has(key)),
    ...Object.entries(own),
  ]);
  const schema: JsonObject = { $schema: shared.$schema };
  for (const key of umbrellaKeys) {
    if (key in part && !['required', 'properties', 'definitions'].includes(key)) schema[key] = part[key];
  }
  return { ...schema, required, properties, ...(Object.keys(definitions).length > 0 ? { definitions } : {}) };
}

/** Names of the shared definitions `node` refers to, directly or through other definitions. */
function referencedDefinitions(node: unknown, definitions: JsonObject): Set<string> {
  const found = new Set<string>();
  const visit = (value: unknown) => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item);
    } else if (value !== null && typeof value === 'object') {
      for (const [key, child] of Object.entries(value)) {
        const name =
          key === '$ref' && typeof child === 'string' ? /^#\/definitions\/(.+)$/.exec(child)?.[1] : undefined;
        if (name && name in definitions && !found.has(name)) {
          found.add(name);
          visit(definitions[name]);
        }
        visit(child);
      }
    }
  };
  visit(node);
  return found;
}

/** Every `$ref` must point at a definition in the same file (Helm resolves nothing else offline). */
function checkReferences(schema: JsonObject, file: string): void {
  const definitions = (schema.definitions ?? {}) as JsonObject;
  const visit = (value: unknown, path: string) => {
    if (Array.isArray(value)) {
      for (const [i, item] of value.entries()) visit(item, `${path}[${i}]`);
    } else if (value !== null && typeof value === 'object') {
      for (const [key, child] of Object.entries(value)) {
        if (key === '$ref') {
          const name = typeof child === 'string' ? /^#\/definitions\/(.+)$/.exec(child)?.[1] : undefined;
          if (!name || !(name in definitions)) {
            throw new Error(
              `${file}: ${path}.$ref ${JSON.stringify(child)} names no definition of this schema (from which source part?)`,
            );
          }
        } else {
          visit(child, path ? `${path}.${key}` : key);
        }
      }
    }
  };
  visit(schema, '');
}

// ---------------------------------------------------------------------------------------------

function readShared(file: string, show: Show): SharedSchema {
  const shared = readJson(file, show);
  const name = show(file);
  if (typeof shared.$schema !== 'string') throw new Error(`${name}: $schema is missing`);
  const properties = object(shared.properties, `${name}: properties`);
  object(shared.definitions, `${name}: definitions`);
  for (const key of strings(shared.required, `${name}: required`)) {
    if (!(key in properties)) throw new Error(`${name}: required names ${key}, which is not one of its properties`);
  }
  return shared as SharedSchema;
}

function readPart(file: string, allowed: string[], show: Show): JsonObject {
  const part = readJson(file, show);
  const unknown = Object.keys(part).filter((key) => !allowed.includes(key));
  if (unknown.length > 0) {
    throw new Error(`${show(file)}: unexpected top-level ${unknown.join(', ')} (allowed: ${allowed.join(', ')})`);
  }
  for (const key of ['title', 'description']) {
    if (typeof part[key] !== 'string' || part[key] === '') throw new Error(`${show(file)}: ${key} is required`);
  }
  return part;
}

function readJson(file: string, show: Show): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${show(file)}: ${(error as Error).message}`);
  }
  return object(value, show(file));
}

function object(value: unknown, what: string): JsonObject {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${what} must be an object`);
  return value as JsonObject;
}

function strings(value: unknown, what: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new Error(`${what} must be a list of property names`);
  }
  return value;
}

function readOrNull(file: string): string | null {
  return existsSync(file) ? readFileSync(file, 'utf8') : null;
}
