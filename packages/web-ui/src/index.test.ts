import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import { PAGE_CSP, sendPage, serveUiFolder, serveWebUi } from './index.js';

const made: string[] = [];
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

function pages() {
  const dir = mkdtempSync(join(tmpdir(), 'web-ui-'));
  made.push(dir);
  for (const [file, text] of Object.entries({
    'index.html': '<!doctype html><title>page</title>',
    'app.js': 'export {};',
    'app.css': 'body{}',
    'model.test.ts': 'test source',
    'tsconfig.json': '{}',
  })) {
    writeFileSync(join(dir, file), text);
  }
  const app = express();
  app.use(serveWebUi('/status'));
  app.use(serveUiFolder('/status', dir));
  app.get('/status/', sendPage(dir));
  return app;
}

describe(serveWebUi.name, () => {
  it("serves the product's shared files under the service's prefix", async () => {
    const app = pages();
    const css = await request(app).get('/status/ui/common/base.css');
    expect(css.status).toBe(200);
    expect(css.headers['content-type']).toMatch(/^text\/css/);
    expect(css.text).toContain('.topbar');
    expect(css.headers['cache-control']).toBe('public, max-age=300');
    const shell = await request(app).get('/status/ui/common/shell.js');
    expect(shell.headers['content-type']).toMatch(/javascript/);
    expect((await request(app).get('/status/ui/common/favicon.svg')).status).toBe(200);
    expect((await request(app).get('/ui/common/base.css')).status).toBe(404);
  });

  it('refuses a prefix that is not a path prefix', () => {
    expect(() => serveWebUi('/status/')).toThrow(/no trailing slash/);
    expect(() => serveWebUi('status')).toThrow();
  });
});

describe(serveUiFolder.name, () => {
  it("serves the page's scripts and styles, never its tests or configuration", async () => {
    const app = pages();
    expect((await request(app).get('/status/ui/app.js')).status).toBe(200);
    expect((await request(app).get('/status/ui/app.css')).status).toBe(200);
    expect((await request(app).get('/status/ui/model.test.ts')).status).toBe(404);
    expect((await request(app).get('/status/ui/tsconfig.json')).status).toBe(404);
  });
});

describe(sendPage.name, () => {
  it("sends a page with the product's one Content-Security-Policy, never cached", async () => {
    const res = await request(pages()).get('/status/');
    expect(res.status).toBe(200);
    expect(res.headers['content-security-policy']).toBe(PAGE_CSP);
    expect(PAGE_CSP).toContain("script-src 'self'");
    expect(PAGE_CSP).not.toContain('unsafe-inline');
    expect(res.headers['cache-control']).toBe('no-store');
  });
});
