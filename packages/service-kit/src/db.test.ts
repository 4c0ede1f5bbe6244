import { describe, expect, it } from 'vitest';
import { loadConfig, migrationConfigSchema } from './config.js';
import { migrationSettings } from './db.js';

describe(migrationSettings.name, () => {
  const runtime = 'postgres://escalation:secret@db:5432/oncall';
  const owner = 'postgres://escalation_owner:secret@db:5432/oncall';

  it('migrates as DATABASE_URL and grants nothing when one role does everything', () => {
    expect(migrationSettings({ DATABASE_URL: runtime })).toEqual({ url: runtime });
  });

  it('migrates as the owner and grants the role DATABASE_URL names', () => {
    expect(migrationSettings({ DATABASE_URL: runtime, DATABASE_MIGRATION_URL: owner })).toEqual({
      url: owner,
      runtimeRole: 'escalation',
    });
  });

  it('takes DATABASE_RUNTIME_ROLE when given (the migration Job knows only the owner URL)', () => {
    expect(migrationSettings({ DATABASE_MIGRATION_URL: owner, DATABASE_RUNTIME_ROLE: 'escalation' })).toEqual({
      url: owner,
      runtimeRole: 'escalation',
    });
  });

  it('reads a percent-encoded user name as the role', () => {
    const url = 'postgres://oncall%2Descalation@db/oncall';
    expect(migrationSettings({ DATABASE_URL: url, DATABASE_MIGRATION_URL: owner }).runtimeRole).toBe(
      'oncall-escalation',
    );
  });

  it('asks for DATABASE_RUNTIME_ROLE when DATABASE_URL names no user', () => {
    expect(() => migrationSettings({ DATABASE_URL: 'postgres://db/oncall', DATABASE_MIGRATION_URL: owner })).toThrow(
      'DATABASE_RUNTIME_ROLE: required when DATABASE_MIGRATION_URL is set and DATABASE_URL names no user',
    );
  });
});

describe('migrationConfigSchema', () => {
  it('needs a URL to migrate with, naming the owner one', () => {
    expect(() => loadConfig(migrationConfigSchema, { DATABASE_RUNTIME_ROLE: 'escalation' })).toThrow(
      'DATABASE_MIGRATION_URL: required: the URL of the role that owns the schema',
    );
  });

  it('refuses a role name PostgreSQL would not take', () => {
    expect(() =>
      loadConfig(migrationConfigSchema, { DATABASE_MIGRATION_URL: 'postgres://o@db/x', DATABASE_RUNTIME_ROLE: 'a b' }),
    ).toThrow('DATABASE_RUNTIME_ROLE: must be a PostgreSQL role name');
  });
});
