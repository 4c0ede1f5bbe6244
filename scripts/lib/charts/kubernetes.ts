// Offline Kubernetes schema validation of rendered manifests: kubernetes-models' validators
// (generated from the Kubernetes OpenAPI schema) plus an unknown-field walk, and small closed
// schemas for the custom resources the charts render.
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { Ajv } from 'ajv';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from '../tools.js';

export interface KubeObject {
  apiVersion?: unknown;
  kind?: unknown;
  metadata?: { name?: unknown; namespace?: unknown };
  [key: string]: unknown;
}

export function parseManifests(text: string): { objects: KubeObject[]; problems: string[] } {
  const objects: KubeObject[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) {
      problems.push(`YAML error: ${doc.errors.map((e) => e.message).join('; ')}`);
      continue;
    }
    const value = doc.toJS() as unknown;
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || Array.isArray(value)) {
      problems.push(`a document is not an object: ${JSON.stringify(value).slice(0, 80)}`);
      continue;
    }
    const obj = value as KubeObject;
    const id = `${String(obj.apiVersion)}/${String(obj.kind)}/${String(obj.metadata?.namespace ?? '')}/${String(obj.metadata?.name)}`;
    if (seen.has(id)) problems.push(`${describe(obj)} is rendered twice`);
    seen.add(id);
    objects.push(obj);
  }
  return { objects, problems };
}

/** The services.yml documents of the escalation catalogue ConfigMaps in a render. */

function describe(obj: KubeObject): string {
  return `${String(obj.kind)}/${String(obj.metadata?.name ?? '<unnamed>')}`;
}

/** A property's type in the models' declarations: an object type (by file), array, map or leaf. */
type TypeRef =
  | { kind: 'object'; file: string }
  | { kind: 'array'; items: TypeRef }
  | { kind: 'map'; values: TypeRef }
  | { kind: 'leaf' };

/**
 * Validates objects with kubernetes-models (its ajv validators, generated from the Kubernetes
 * OpenAPI schema) and, because those accept unknown fields, walks each object along the
 * models' TypeScript declarations (*.d.ts: one interface per API type, with its property names
 * and property types) and reports every field the API does not define. Kinds the models do not
 * know (custom resources) are checked against the small schemas in `customResourceSchemas`.
 */
export class KubernetesValidator {
  private readonly modelsDir: string;
  private readonly apimachineryDir: string;
  private readonly interfaces = new Map<string, Map<string, TypeRef> | null>();
  private readonly ajv = new Ajv({ allErrors: true, strict: false });

  constructor() {
    const require = createRequire(join(repoRoot, 'package.json'));
    this.modelsDir = realpathSync(dirname(require.resolve('kubernetes-models')));
    this.apimachineryDir = join(dirname(this.modelsDir), '@kubernetes-models', 'apimachinery');
  }

  async validate(obj: KubeObject): Promise<string[]> {
    const name = describe(obj);
    if (typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string') {
      return [`${name}: apiVersion and kind are required`];
    }
    const custom = customResourceSchemas[`${obj.apiVersion}/${obj.kind}`];
    if (custom) {
      const validate = this.ajv.compile(custom);
      if (validate(obj)) return [];
      return (validate.errors ?? []).map(
        (e) =>
          `${name}: ${e.instancePath || '/'} ${e.message ?? 'is invalid'}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`,
      );
    }
    const declaration = join(this.modelsDir, obj.apiVersion, `${obj.kind}.d.ts`);
    if (!existsSync(declaration)) {
      return [`${name}: ${obj.apiVersion} ${obj.kind} is not a Kubernetes API type known to kubernetes-models`];
    }
    const problems: string[] = [];
    const module = (await import(`kubernetes-models/${obj.apiVersion}/${obj.kind}`)) as Record<string, unknown>;
    const Model = module[obj.kind] as (new (data: unknown) => { validate(): void }) | undefined;
    if (!Model) return [`${name}: kubernetes-models has no ${obj.kind} model`];
    try {
      new Model(obj).validate();
    } catch (error) {
      const errors = (error as { errors?: { instancePath: string; message?: string }[] }).errors;
      if (!errors) problems.push(`${name}: ${(error as Error).message}`);
      for (const e of errors ?? []) problems.push(`${name}: ${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
    }
    this.walk(obj, { kind: 'object', file: declaration }, '', (path) =>
      problems.push(`${name}: unknown field ${path} (not in the Kubernetes API; it would be dropped or rejected)`),
    );
    return problems;
  }

  private walk(value: unknown, type: TypeRef, path: string, report: (path: string) => void): void {
    if (value === null || value === undefined || type.kind === 'leaf') return;
    if (type.kind === 'array') {
      if (!Array.isArray(value)) return;
      for (const [i, item] of value.entries()) this.walk(item, type.items, `${path}[${i}]`, report);
      return;
    }
    if (typeof value !== 'object' || Array.isArray(value)) return;
    if (type.kind === 'map') {
      for (const [key, item] of Object.entries(value)) this.walk(item, type.values, `${path}.${key}`, report);
      return;
    }
    const properties = this.properties(type.file);
    if (!properties) return;
    for (const [key, item] of Object.entries(value)) {
      const child = path ? `${path}.${key}` : key;
      const propertyType = properties.get(key);
      if (propertyType) this.walk(item, propertyType, child, report);
      else report(child);
    }
  }

  /** Property names and types of the interface declared in a .d.ts file (null for type aliases). */
  private properties(file: string): Map<string, TypeRef> | null {
    const cached = this.interfaces.get(file);
    if (cached !== undefined) return cached;
    const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
    const imports = new Map<string, string>();
    for (const m of text.matchAll(/^import \{ (\w+) \} from "([^"]+)";$/gm)) {
      const [, id, from] = m;
      if (!id || !from) continue;
      const base = from.startsWith('.')
        ? resolve(dirname(file), from)
        : from.startsWith('@kubernetes-models/apimachinery/')
          ? join(this.apimachineryDir, from.slice('@kubernetes-models/apimachinery/'.length))
          : undefined;
      if (base) imports.set(id, `${base}.d.ts`);
    }
    const body = /^export interface \w+(?: extends [\w, ]+)? \{\n([\s\S]*?)\n\}$/m.exec(text)?.[1];
    if (body === undefined) {
      this.interfaces.set(file, null);
      return null;
    }
    const properties = new Map<string, TypeRef>();
    const lines = body.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const m = /^ {4}"([^"]+)"\??: (.*)$/.exec(lines[i] ?? '');
      if (!m?.[1] || m[2] === undefined) continue;
      let typeText = m[2];
      // Multi-line types (maps and inline objects) end at the next line indented by 4 spaces.
      while (!typeText.endsWith(';') && i + 1 < lines.length) typeText += ` ${(lines[++i] ?? '').trim()}`;
      properties.set(m[1], this.typeRef(typeText.replace(/;$/, '').trim(), imports));
    }
    this.interfaces.set(file, properties);
    return properties;
  }

  private typeRef(text: string, imports: Map<string, string>): TypeRef {
    const array = /^Array<(.*)>$/.exec(text);
    if (array?.[1] !== undefined) return { kind: 'array', items: this.typeRef(array[1], imports) };
    const map = /^\{ \[key: string\]: (.*?);? \}$/.exec(text);
    if (map?.[1] !== undefined) return { kind: 'map', values: this.typeRef(map[1], imports) };
    const file = imports.get(text);
    if (file) return { kind: 'object', file };
    return { kind: 'leaf' }; // primitives, string unions, inline object types
  }
}

const labelMap = { type: 'object', additionalProperties: { type: 'string' } };
const duration = {
  type: 'string',
  pattern: '^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$',
};
const selector = {
  type: 'object',
  additionalProperties: false,
  properties: { matchLabels: labelMap, matchExpressions: { type: 'array', items: { type: 'object' } } },
};

/**
 * Custom resources the charts render, checked against the subset of their CRD schema that the
 * charts use (closed, so that a typo fails). Source: prometheus-operator monitoring.coreos.com/v1.
 */
const customResourceSchemas: Record<string, object> = {
  'monitoring.coreos.com/v1/ServiceMonitor': {
    type: 'object',
    required: ['apiVersion', 'kind', 'metadata', 'spec'],
    additionalProperties: false,
    properties: {
      apiVersion: { const: 'monitoring.coreos.com/v1' },
      kind: { const: 'ServiceMonitor' },
      metadata: {
        type: 'object',
        required: ['name'],
        additionalProperties: false,
        properties: {
          name: { type: 'string', minLength: 1, maxLength: 253 },
          namespace: { type: 'string' },
          labels: labelMap,
          annotations: labelMap,
        },
      },
      spec: {
        type: 'object',
        required: ['selector', 'endpoints'],
        additionalProperties: false,
        properties: {
          jobLabel: { type: 'string' },
          namespaceSelector: {
            type: 'object',
            additionalProperties: false,
            properties: { any: { type: 'boolean' }, matchNames: { type: 'array', items: { type: 'string' } } },
          },
          selector,
          endpoints: {
            type: 'array',
            minItems: 1,
            items: {
              type: 'object',
              additionalProperties: false,
              properties: {
                port: { type: 'string' },
                path: { type: 'string' },
                scheme: { enum: ['http', 'https'] },
                interval: duration,
                scrapeTimeout: duration,
                honorLabels: { type: 'boolean' },
                relabelings: { type: 'array', items: { type: 'object' } },
                metricRelabelings: { type: 'array', items: { type: 'object' } },
              },
            },
          },
        },
      },
    },
  },
};
