import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger, runMigrations } from '@micro-oncall/service-kit';
import { createTestDatabase } from '@micro-oncall/test-kit';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';

const MIGRATIONS = fileURLToPath(new URL('../drizzle', import.meta.url));
const logger = createLogger({ service: 'escalation-migrations-test', level: 'silent' });
const folders: string[] = [];

/** This service's migrations up to (not including) the one tagged `before`, as drizzle-kit lays them out. */
function migrationsBefore(before: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'escalation-migrations-'));
  folders.push(dir);
  cpSync(MIGRATIONS, dir, { recursive: true });
  const journalFile = join(dir, 'meta', '_journal.json');
  const journal = JSON.parse(readFileSync(journalFile, 'utf8')) as { entries: { tag: string }[] };
  const at = journal.entries.findIndex((e) => e.tag.startsWith(before));
  if (at < 0) throw new Error(`no migration ${before}`);
  writeFileSync(journalFile, JSON.stringify({ ...journal, entries: journal.entries.slice(0, at) }));
  return dir;
}

afterAll(() => {
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

describe('escalation migrations', () => {
  it('0004 renames stored severities to the words they meant, keeping their order', async () => {
    const url = await createTestDatabase(inject('stack').databaseUrl, 'esc_migr');
    const migrate = (folder: string) => runMigrations({ url, schema: 'escalation', migrationsFolder: folder, logger });
    await migrate(migrationsBefore('0004_'));

    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const old = ['p0', 'p1', 'p2', 'p3', 'p4'];
      for (const [n, severity] of old.entries()) {
        await client.query(
          `insert into escalation.incidents (id, provider, provider_id, dedup_key, title, service, severity, urgency,
             status, labels, links, created_at, updated_at, snapshot_at, status_at, last_event_kind, change_seq)
           values ($1, 'pagerduty', $1, $1, 'stored before 0004', 'checkout', $2, 'high', 'triggered', '{}', '[]',
             now(), now(), now(), now(), 'triggered', $3)`,
          [`inc_00000000000000000000000${n}`, severity, n],
        );
      }

      await migrate(MIGRATIONS);

      const rows = await client.query<{ severity: string; provider_severity: string | null; assignees: unknown }>(
        'select severity, provider_severity, assignees from escalation.incidents order by severity',
      );
      expect(rows.rows.map((r) => r.severity)).toEqual(['critical', 'high', 'medium', 'low', 'info']);
      expect(rows.rows.every((r) => r.provider_severity === null)).toBe(true);
      expect(rows.rows.every((r) => Array.isArray(r.assignees) && r.assignees.length === 0)).toBe(true);
      await expect(
        client.query(`select 'p0'::escalation.severity`),
        'the old names are gone: nothing can write them any more',
      ).rejects.toThrow(/invalid input value for enum/);
    } finally {
      await client.end();
    }
  });

  it('0009 numbers the incidents already stored in the order they were first seen, then new ones after them', async () => {
    const url = await createTestDatabase(inject('stack').databaseUrl, 'esc_migr_num');
    const migrate = (folder: string) => runMigrations({ url, schema: 'escalation', migrationsFolder: folder, logger });
    await migrate(migrationsBefore('0009_'));

    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const insert = (id: string, firstSeen: string) =>
        client.query(
          `insert into escalation.incidents (id, provider, provider_id, dedup_key, title, service, severity, urgency,
             status, labels, links, created_at, updated_at, snapshot_at, status_at, last_event_kind, change_seq,
             first_seen_at)
           values ($1, 'pagerduty', $1, $1, 'stored before 0009', 'checkout', 'high', 'high', 'triggered', '{}', '[]',
             $2, $2, $2, $2, 'triggered', 1, $2)`,
          [id, firstSeen],
        );
      // Inserted out of order: the numbers follow when they were first seen.
      await insert('inc_000000000000000000000003', '2026-11-30T12:00:00Z');
      await insert('inc_000000000000000000000001', '2026-11-30T10:00:00Z');
      await insert('inc_000000000000000000000002', '2026-11-30T11:00:00Z');

      await migrate(MIGRATIONS);

      const rows = await client.query<{ id: string; number: string }>(
        'select id, number from escalation.incidents order by id',
      );
      expect(rows.rows.map((r) => Number(r.number))).toEqual([1, 2, 3]);
      await insert('inc_000000000000000000000004', '2026-11-30T13:00:00Z');
      const [next] = (
        await client.query<{ number: string }>(
          `select number from escalation.incidents where id = 'inc_000000000000000000000004'`,
        )
      ).rows;
      expect(Number(next?.number)).toBe(4);
    } finally {
      await client.end();
    }
  });
});
