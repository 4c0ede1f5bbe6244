import { request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger, errorHandler, type Principal, runMigrations } from '@micro-oncall/service-kit';
import { createTestDatabase } from '@micro-oncall/test-kit';
import { drizzle } from 'drizzle-orm/node-postgres';
import express, { type Response } from 'express';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createAuditWriter } from '../src/audit.js';
import * as schema from '../src/db/schema.js';
import { createAuditRouter } from '../src/routes/audit.js';
import { service as escalation } from '../src/service.js';
import { until } from './support.js';

const ROWS = 20_000;
const ADMIN: Principal = { subject: 'export-admin', name: 'Alex', email: null, roles: ['admin'] };

describe('audit log export', () => {
  let pool: pg.Pool;
  let server: ReturnType<ReturnType<typeof express>['listen']>;
  let base: string;
  /** The server side of the latest export, to see what the server holds for the client. */
  let exporting: Response | undefined;

  beforeAll(async () => {
    const logger = createLogger({ service: 'audit-export-test', level: 'silent' });
    const url = await createTestDatabase(inject('stack').databaseUrl, 'audit_export');
    await runMigrations({ url, schema: 'escalation', migrationsFolder: escalation.migrationsFolder, logger });
    pool = new pg.Pool({ connectionString: url, max: 4 });
    // About 24 MB of audit log: far more than any socket buffer holds.
    await pool.query(
      `insert into escalation.audit_log (id, at, actor_subject, action, outcome, detail, request_id)
       select gen_random_uuid(), now() - n * interval '1 second', 'bulk', 'note', 'succeeded', repeat('x', 1000), 'r' || n
       from generate_series(1, ${ROWS}) n`,
    );
    const db = drizzle(pool, { schema });
    const app = express();
    app.use(express.json(), (req, res, next) => {
      req.id = 'export-test';
      req.principal = ADMIN;
      exporting = res;
      next();
    });
    app.use(createAuditRouter({ db, audit: createAuditWriter(db) }));
    app.use(errorHandler(logger));
    server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((r) => server?.close(r));
    await pool?.end();
  });

  it('sends a slow client the log at its own pace, holding about a page, and all of it in the end', async () => {
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = httpRequest(
        `${base}/v1/audit/export`,
        { method: 'POST', headers: { 'content-type': 'application/json' } },
        resolve,
      );
      req.on('error', reject);
      req.end(JSON.stringify({ format: 'jsonl', actor: 'bulk' }));
    });
    expect(response.statusCode).toBe(200);
    response.pause(); // a client that reads nothing for now
    // Give the server every chance to run ahead of the client.
    await new Promise((r) => setTimeout(r, 1500));
    const held = exporting!.writableLength;
    expect(exporting!.writableEnded).toBe(false);
    expect(held).toBeLessThan(2 * 1024 * 1024);

    let body = '';
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      body += chunk;
    });
    response.resume();
    await until('the whole export', async () => (response.complete ? true : undefined));
    const lines = body.trim().split('\n');
    expect(lines).toHaveLength(ROWS);
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ actor: { subject: 'bulk' }, action: 'note' });
  });

  it('is a POST: a GET exports nothing', async () => {
    const res = await fetch(`${base}/v1/audit/export?format=csv`);
    expect(res.status).toBe(404);
  });

  it('rejects an unknown filter or format with 400 naming it', async () => {
    const res = await fetch(`${base}/v1/audit/export`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ format: 'xml' }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/format/);
  });
});
