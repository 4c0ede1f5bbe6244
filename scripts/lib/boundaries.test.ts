import { describe, expect, it } from 'vitest';
import { checkFile, formatViolation, importsOf } from './boundaries.js';

const workspace = {
  '@micro-oncall/webhook-ingest': 'services/webhook-ingest',
  '@micro-oncall/escalation': 'services/escalation',
  '@micro-oncall/service-kit': 'packages/service-kit',
  '@micro-oncall/incident-model': 'packages/incident-model',
};

/** The violations in one file, as the command prints them. */
const check = (file: string, text: string) => checkFile(file, text, workspace).map(formatViolation);

describe(importsOf.name, () => {
  it('reads static, re-exported, type-only, import-equals and dynamic imports with their lines', () => {
    const text = [
      "import { a } from './a.js';",
      "export { b } from './b.js';",
      "import type { C } from './c.js';",
      "import d = require('./d.js');",
      "const e = await import('./e.js');",
      'const f = await import(`./f.js`);',
      "type G = import('./g.js').G;",
    ].join('\n');
    expect(importsOf('x.ts', text)).toEqual([
      { specifier: './a.js', line: 1 },
      { specifier: './b.js', line: 2 },
      { specifier: './c.js', line: 3 },
      { specifier: './d.js', line: 4 },
      { specifier: './e.js', line: 5 },
      { specifier: './f.js', line: 6 },
      { specifier: './g.js', line: 7 },
    ]);
  });

  it('ignores text that only looks like an import (comments, strings) and computed dynamic imports', () => {
    const text = [
      "// import { a } from '../services/escalation/src/env.js';",
      'const s = "import x from \'../services/escalation/src/env.js\'";',
      'const m = await import(path);',
    ].join('\n');
    expect(importsOf('x.ts', text)).toEqual([]);
  });
});

describe(checkFile.name, () => {
  describe('a service never imports another service', () => {
    it('reports a relative import of another service', () => {
      expect(check('services/escalation/src/app.ts', "import { x } from '../../webhook-ingest/src/env.js';")).toEqual([
        'services/escalation/src/app.ts:1 imports ../../webhook-ingest/src/env.js — a service never imports another service (escalation → webhook-ingest); move the shared code into packages/ (incident-model, service-kit) or talk to webhook-ingest over Kafka or HTTP',
      ]);
    });

    it("reports an import of another service by its package name, even of that service's public entry", () => {
      const text =
        "import { service } from '@micro-oncall/webhook-ingest';\nexport * from '../../webhook-ingest/src/index.js';";
      expect(checkFile('services/escalation/src/app.ts', text, workspace).map((v) => v.line)).toEqual([1, 2]);
    });

    it('allows its own files, packages and npm modules', () => {
      const text = [
        "import { a } from './routes/incidents.js';",
        "import { b } from '../test/support.js';",
        "import { c } from '@micro-oncall/service-kit';",
        "import { d } from '@micro-oncall/incident-model/fixtures';",
        "import express from 'express';",
        "import { join } from 'node:path';",
      ].join('\n');
      expect(check('services/escalation/src/app.ts', text)).toEqual([]);
    });
  });

  describe('packages never import services, scripts/, bench/ or test/', () => {
    it('reports each of them', () => {
      const text = [
        "import { a } from '../../../services/escalation/src/index.js';",
        "import { b } from '@micro-oncall/escalation';",
        "import { c } from '../../../scripts/lib/console.js';",
        "import { d } from '../../../bench/lib/stats.js';",
        "import { e } from '../../../test/helpers.js';",
      ].join('\n');
      const found = check('packages/service-kit/src/x.ts', text);
      expect(found).toHaveLength(5);
      expect(found[0]).toBe(
        'packages/service-kit/src/x.ts:1 imports ../../../services/escalation/src/index.js — packages never import services, scripts/, bench/ or test/ (service-kit → service escalation); move the code into the package, or have the caller pass it in',
      );
      expect(found[2]).toContain('(service-kit → scripts/)');
    });

    it('allows other packages and its own files', () => {
      const text =
        "import { a } from '@micro-oncall/incident-model';\nimport { b } from '../../incident-model/src/index.js';\nimport { c } from './kafka.js';";
      expect(check('packages/service-kit/src/x.ts', text)).toEqual([]);
    });
  });

  describe('scripts/, bench/ and test/ use a service only through its public entry', () => {
    it("reports an import of a service's internal file, naming the public entry to use instead", () => {
      expect(
        check(
          'bench/http-ceiling-server.ts',
          "import { verifyPagerDutySignature } from '../services/webhook-ingest/src/credentials.js';",
        ),
      ).toEqual([
        "bench/http-ceiling-server.ts:1 imports ../services/webhook-ingest/src/credentials.js — bench/ uses a service only through its public entry, not webhook-ingest's internals; import from '../services/webhook-ingest/src/index.js' (export what is needed there)",
      ]);
    });

    it('reports a dynamic import of an internal file and a deep import by package name', () => {
      const text = [
        "const { ServiceCatalogue } = await import('../../services/escalation/src/catalogue.ts');",
        "import { configSchema } from '@micro-oncall/escalation/src/env.js';",
      ].join('\n');
      const found = check('scripts/lib/charts-check.ts', text);
      expect(found).toHaveLength(2);
      expect(found[0]).toContain("import from '../../services/escalation/src/index.js'");
      expect(found[1]).toMatch(/^scripts\/lib\/charts-check\.ts:2 imports @micro-oncall\/escalation\/src\/env\.js — /);
    });

    it('reports internals imported from test/ too', () => {
      expect(
        check('test/faults/harness.ts', "import { x } from '../../services/escalation/src/main.js';"),
      ).toHaveLength(1);
    });

    it('allows the public entry, by path or by package name, and files that are not a service', () => {
      const text = [
        "import { verifyPagerDutySignature } from '../services/webhook-ingest/src/index.js';",
        "import type { ServiceCatalogue } from '../services/escalation/src/index.ts';",
        "import { service } from '@micro-oncall/escalation';",
        "import { say } from '../scripts/lib/console.js';",
        "import { createKafka } from '@micro-oncall/service-kit';",
      ].join('\n');
      expect(check('bench/lib/x.ts', text)).toEqual([]);
    });
  });

  it('leaves files outside services, packages, scripts, bench and test alone', () => {
    expect(check('vitest.config.ts', "import { x } from './services/escalation/src/env.js';")).toEqual([]);
  });
});
