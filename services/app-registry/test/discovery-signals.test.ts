import { appendFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CandidateView } from '../src/discovery/candidates.js';
import type { AppView } from '../src/model.js';
import { anApp, DAY, type Harness, type Registered, runDiscovery, startHarness } from './helpers.js';

/*
 * Non-technical discovery signals: an invoice export and a SaaS connector list (CSV) in the
 * discovery folder. Miro, bought by erin and connected by lena, is one SaaS candidate (keyed by
 * its domain) whose suggested owner is the requester; a connection to a registered app's domain
 * moves that app's last activity; a bad row and a header without a required column are reported
 * with file and line while the rest is read.
 */

const day = (d: Date) => d.toISOString().slice(0, 10);

describe('app-registry discovery from invoices and SaaS connector lists', () => {
  let h: Harness;
  let dir: string;
  let notes: AppView;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'discovery-signals-'));
    // Flagged by the run that finds it: the suggested owner is set at once.
    h = await startHarness({ env: { DISCOVERY_DIR: dir, DISCOVERY_FLAG_AFTER_HOURS: '0' } });
    const registered = await h.json<Registered>('/apps/v1/apps', {
      method: 'POST',
      body: JSON.stringify(
        anApp('team-notes', { runtime: 'saas_connector', endpoints: [{ host: 'notes.example.net' }] }),
      ),
      token: h.tokens.responder,
    });
    expect(registered.status, JSON.stringify(registered.body)).toBe(201);
    notes = registered.body.app;
  });
  afterAll(async () => {
    await h?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('an invoice and a connector list make one SaaS candidate with the requester as suggested owner; a registered domain is matched; a bad row and a bad header are reported with file and line', async () => {
    // Two days after the app was registered: its connection's last use is newer than its registration.
    h.clock.advanceDays(2);
    const now = h.clock.now();
    const daysAgo = (n: number) => new Date(now.getTime() - n * DAY);
    await mkdir(path.join(dir, 'finance'), { recursive: true });
    await writeFile(
      path.join(dir, 'finance', 'invoices-2026-11.csv'),
      [
        'Invoice No,Supplier,Product,Website,Description,Amount,Currency,Invoice Date,Cost Centre,Requested By,Approved By',
        `INV-1,Miro,Miro Business,https://miro.com,"Miro Business, 10 seats",200.00,EUR,${day(daysAgo(20))},CC-220,erin@example.com,paul@example.com`,
        `INV-2,,Unknown,,"no supplier",10.00,EUR,${day(daysAgo(19))},CC-220,erin@example.com,`,
        `INV-3,Miro,Miro Business,miro.com,"Miro Business, 2 more seats",40.00,EUR,${day(daysAgo(10))},CC-220,erin@example.com,paul@example.com`,
      ].join('\n'),
    );
    await mkdir(path.join(dir, 'connectors'), { recursive: true });
    const lastUsed = daysAgo(1);
    await writeFile(
      path.join(dir, 'connectors', 'oauth-grants.csv'),
      [
        'App Name;Domain;Owner;Environment;Created;Last Used',
        `Miro;www.miro.com;lena@example.com;Workspace;${day(daysAgo(30))};${lastUsed.toISOString()}`,
        `Team notes;notes.example.net;rita@example.com;Workspace;${day(daysAgo(40))};${lastUsed.toISOString()}`,
      ].join('\n'),
    );
    // A source forced to the invoice format whose header has no date column.
    await mkdir(path.join(dir, 'card-expenses'), { recursive: true });
    await writeFile(path.join(dir, 'card-expenses', '.source.json'), JSON.stringify({ format: 'invoices' }));
    await writeFile(path.join(dir, 'card-expenses', 'cards.csv'), 'Merchant,Amount\nMiro,12.00\n');

    const run = await runDiscovery(h);
    expect(run.status).toBe('partial');
    const source = (name: string) => run.sources.find((s) => s.source === name)!;
    expect(source('finance')).toMatchObject({ files: 1, linesRead: 3, sightings: 2, errors: 1, failed: null });
    expect(source('finance').errorList).toEqual([
      { file: 'invoices-2026-11.csv', line: 3, message: 'required field vendor is empty' },
    ]);
    expect(source('connectors')).toMatchObject({ sightings: 2, appsMatched: 1, errors: 0 });
    expect(source('card-expenses').errorList).toEqual([
      { file: 'cards.csv', line: 1, message: expect.stringMatching(/^not an invoice export: required column date \(/) },
    ]);

    const { body } = await h.json<{ items: CandidateView[] }>('/apps/v1/discovery/candidates?kind=saas');
    expect(body.items).toHaveLength(1);
    const miro = body.items[0]!;
    expect(miro).toMatchObject({
      kind: 'saas',
      key: 'host:miro.com',
      match: { host: 'miro.com' },
      sources: ['connectors', 'finance'],
      sightings: 3,
      creators: [
        { who: 'erin@example.com', count: 2, action: 'create' },
        { who: 'lena@example.com', count: 1, action: 'create' },
      ],
      flagged: true,
      suggestedOwner: { who: 'erin@example.com', why: 'creator' },
    });
    expect(miro.evidence.map((e) => `${e.source}/${e.file}:${e.line} ${e.format}`).sort()).toEqual([
      'connectors/oauth-grants.csv:2 saas-connectors',
      'finance/invoices-2026-11.csv:2 invoices',
      'finance/invoices-2026-11.csv:4 invoices',
    ]);
    expect(JSON.parse(miro.evidence.find((e) => e.line === 2 && e.source === 'finance')!.text)).toMatchObject({
      Supplier: 'Miro',
      'Requested By': 'erin@example.com',
      'Cost Centre': 'CC-220',
    });

    // The registered app's domain matched: its last activity is the connection's last use, and no candidate.
    expect((await h.json<AppView>(`/apps/v1/apps/${notes.id}`)).body.lifecycle.lastActivityAt).toBe(
      lastUsed.toISOString(),
    );
    const all = await h.json<{ items: CandidateView[] }>('/apps/v1/discovery/candidates');
    expect(all.body.items.filter((c) => c.key === 'host:notes.example.net')).toEqual([]);
  });

  it('a re-run reads nothing twice; a row appended to the export later is read once, under its header', async () => {
    const again = await runDiscovery(h);
    expect(again.sources.find((s) => s.source === 'finance')).toMatchObject({ files: 0, linesRead: 0, sightings: 0 });

    await appendFile(
      path.join(dir, 'finance', 'invoices-2026-11.csv'),
      `\nINV-4,Miro,Miro Business,miro.com,"Miro Business, December",200.00,EUR,${day(h.clock.now())},CC-220,erin@example.com,paul@example.com\n`,
    );
    const appended = await runDiscovery(h);
    expect(appended.sources.find((s) => s.source === 'finance')).toMatchObject({
      files: 1,
      linesRead: 1,
      sightings: 1,
      errors: 0,
    });
    const miro = (await h.json<{ items: CandidateView[] }>('/apps/v1/discovery/candidates?kind=saas')).body.items[0]!;
    expect(miro).toMatchObject({ sightings: 4, creators: [{ who: 'erin@example.com', count: 3 }, { count: 1 }] });
    expect(miro.evidence.some((e) => e.file === 'invoices-2026-11.csv' && e.line === 5)).toBe(true);
  });
});
