import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { temporaryDirectories } from '@micro-oncall/test-kit/temp';
import { describe, expect, it } from 'vitest';
import { candidateKey, createMatcher } from '../match.js';
import type { Sighting } from '../sighting.js';
import { LineError } from './common.js';
import { detectFormat } from './detect.js';
import { type ReadFileOptions, readFile, readLine } from './read-file.js';
import { csvRowReader, detectCsvFormat, domainOf, isoDate, saasMatch, slugOf } from './saas-csv.js';

const tempDir = temporaryDirectories();

/** Writes one file into a fresh folder and reads it whole. */
async function readCsvFile(name: string, content: string | Buffer, options: ReadFileOptions = {}) {
  const dir = tempDir('app-registry-saas-csv-');
  mkdirSync(dirname(join(dir, name)), { recursive: true });
  writeFileSync(join(dir, name), content);
  const reading = readFile(join(dir, name), { name, ...options });
  const sightings: Sighting[] = [];
  for await (const s of reading) sightings.push(s);
  return { sightings, errors: reading.errors, progress: reading.progress };
}

const INVOICES = [
  'Invoice No,Supplier,Product,Website,Description,Amount,Currency,Invoice Date,Cost Centre,Requested By,Approved By',
  'INV-1001,"Atlassian Pty Ltd",Jira Software,https://www.atlassian.com/,"Jira Cloud Standard, 25 users",1250.00,EUR,2026-11-03,CC-410 Finance,erin@example.com,paul@example.com',
  'INV-1002,Miro,,,"Miro Business, annual",4800.00,EUR,2026-11-05,CC-220 Marketing,,paul@example.com',
  'INV-1003,Acme Survey Tools Inc.,PulseCheck,,"PulseCheck Pro",99,USD,2026-11-07,CC-220 Marketing,sam@example.com,',
].join('\n');

const CONNECTORS = [
  'Environment;Connection name;Connector;Created by;Created time;Last used',
  'Default-Prod;Expense approvals;/providers/Microsoft.PowerApps/apis/shared_slack;maria@example.com;2026-10-01T08:00:00Z;2026-11-30T17:45:00Z',
  'Default-Prod;Lead sync;shared_salesforce;omar@example.com;2026-09-12;',
].join('\r\n');

describe('invoice exports', () => {
  it('reads each purchase as a SaaS sighting: keyed by domain, else vendor and product; the requester (else the approver) created it', async () => {
    const { sightings, errors, progress } = await readCsvFile('finance/2026-11.csv', `${INVOICES}\n`);
    expect(errors).toEqual([]);
    expect(progress).toMatchObject({ format: 'invoices', complete: true, linesRead: 3, cursor: 4 });
    expect(sightings).toHaveLength(3);
    expect(sightings[0]).toMatchObject({
      format: 'invoices',
      kind: 'saas',
      action: 'create',
      match: { host: 'atlassian.com' },
      label: 'Jira Software (Atlassian Pty Ltd)',
      at: new Date('2026-11-03T00:00:00Z'),
      actor: 'erin@example.com',
      recordId: 'atlassian:INV-1001',
      evidence: { file: 'finance/2026-11.csv', line: 2 },
    });
    expect(JSON.parse(sightings[0]!.evidence.text)).toMatchObject({
      Supplier: 'Atlassian Pty Ltd',
      Amount: '1250.00',
      'Cost Centre': 'CC-410 Finance',
    });
    expect(sightings[1]).toMatchObject({
      match: { resourceId: 'saas:miro' },
      label: 'Miro',
      actor: 'paul@example.com',
    });
    expect(sightings[2]).toMatchObject({
      match: { resourceId: 'saas:acme-survey-tools/pulsecheck' },
      label: 'PulseCheck (Acme Survey Tools Inc.)',
      actor: 'sam@example.com',
    });
  });

  it('reports a row missing a required field, or with a bad date, amount or domain, with its line, and reads the others', async () => {
    const text = [
      'Vendor,Amount,Date,Requester,Domain',
      'Notion Labs Inc.,96.00,2026-11-02,kim@example.com,notion.so',
      ',12.00,2026-11-02,kim@example.com,',
      'Figma,,2026-11-02,kim@example.com,figma.com',
      'Figma,45.00,03/11/2026,kim@example.com,figma.com',
      'Figma,forty,2026-11-02,kim@example.com,figma.com',
      'Figma,45.00,2026-11-02,kim@example.com,not a domain',
      'Figma,45.00,2026-11-02',
      '"Canva Pty Ltd","1,200.00",2026-11-04,lee@example.com,canva.com',
    ].join('\n');
    const { sightings, errors } = await readCsvFile('invoices.csv', text);
    expect(sightings.map((s) => s.match)).toEqual([{ host: 'notion.so' }, { host: 'canva.com' }]);
    expect(errors).toEqual([
      { file: 'invoices.csv', line: 3, message: 'required field vendor is empty' },
      { file: 'invoices.csv', line: 4, message: 'required field amount is empty' },
      { file: 'invoices.csv', line: 5, message: expect.stringMatching(/date "03\/11\/2026" is not an ISO 8601 date/) },
      { file: 'invoices.csv', line: 6, message: 'amount "forty" is not an amount' },
      { file: 'invoices.csv', line: 7, message: 'domain "not a domain" is not a host name' },
      { file: 'invoices.csv', line: 8, message: expect.stringMatching(/^3 cells where the header has 5/) },
    ]);
  });

  it('refuses a header without a required column, naming it, and reads nothing of the file', async () => {
    const { sightings, errors, progress } = await readCsvFile(
      'invoices.csv',
      'Vendor,Amount,Description\nSlack,10,Pro\n',
      { format: 'invoices' },
    );
    expect(sightings).toEqual([]);
    expect(progress.complete).toBe(false);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ file: 'invoices.csv', line: 1 });
    expect(errors[0]!.message).toMatch(/^not an invoice export: required column date \("date", "invoice date"/);
  });

  it('counts physical lines: a quoted cell with line breaks moves the next rows down, and a bad row names where it starts', async () => {
    const text = [
      'Vendor,Description,Amount,Date',
      'Zoom,"Zoom Workplace',
      'Business, 10 licences",300.00,2026-11-01',
      'Zoom,,300.00,2026-13-01',
      'Loom,,50.00,2026-11-02',
    ].join('\n');
    const { sightings, errors, progress } = await readCsvFile('cards.csv', text);
    expect(sightings.map((s) => s.evidence.line)).toEqual([2, 5]);
    expect(errors).toEqual([{ file: 'cards.csv', line: 4, message: expect.stringMatching(/2026-13-01/) }]);
    expect(progress.cursor).toBe(5);
  });

  it('resumes after the cursor: the header is read again, rows already read are not', async () => {
    const first = await readCsvFile('invoices.csv', `${INVOICES}\n`, { cursor: 3 });
    expect(first.sightings.map((s) => s.evidence.line)).toEqual([4]);
    expect(first.progress).toMatchObject({ linesRead: 1, cursor: 4, complete: true });
  });

  it('reads gzip and a semicolon-separated file, and refuses bytes that are not UTF-8 row by row', async () => {
    const gz = await readCsvFile('finance/2026-11.csv.gz', gzipSync(INVOICES));
    expect(gz.sightings).toHaveLength(3);
    const latin1 = Buffer.concat([
      Buffer.from('Lieferant;Vendor;Amount;Date\n'),
      Buffer.from('x;Caf'),
      Buffer.from([0xe9]),
      Buffer.from(';10,00;2026-11-01\ny;Bureau;10,00;2026-11-01\n'),
    ]);
    const { sightings, errors } = await readCsvFile('latin1.csv', latin1);
    expect(sightings.map((s) => s.label)).toEqual(['Bureau']);
    expect(errors).toEqual([{ file: 'latin1.csv', line: 2, message: 'row is not valid UTF-8: skipped' }]);
  });
});

describe('SaaS connector lists', () => {
  it('reads a low-code connections export: the app on its connector, the owner, the last use (else the creation)', async () => {
    const { sightings, errors, progress } = await readCsvFile('power-platform/connections.csv', CONNECTORS);
    expect(errors).toEqual([]);
    expect(progress).toMatchObject({ format: 'saas-connectors', complete: true, linesRead: 2 });
    expect(sightings).toEqual([
      expect.objectContaining({
        format: 'saas-connectors',
        kind: 'saas',
        action: 'create',
        match: { resourceId: 'saas:slack/expense-approvals' },
        label: 'Expense approvals (slack)',
        actor: 'maria@example.com',
        at: new Date('2026-11-30T17:45:00Z'),
        evidence: expect.objectContaining({ file: 'power-platform/connections.csv', line: 2 }),
      }),
      expect.objectContaining({
        match: { resourceId: 'saas:salesforce/lead-sync' },
        at: new Date('2026-09-12T00:00:00Z'),
        actor: 'omar@example.com',
      }),
    ]);
  });

  it('keys an OAuth grant by its client id, else its domain', async () => {
    const text = [
      'App Name,Client ID,Domain,User,Last Used',
      'Zapier,1234-abc.apps.googleusercontent.com,zapier.com,ann@example.com,2026-11-29',
      'Calendly,,https://calendly.com/app,ben@example.com,2026-11-28',
    ].join('\n');
    const { sightings, errors } = await readCsvFile('grants.csv', text);
    expect(errors).toEqual([]);
    expect(sightings.map((s) => [s.match, s.label, s.actor])).toEqual([
      [{ clientId: '1234-abc.apps.googleusercontent.com' }, 'Zapier', 'ann@example.com'],
      [{ host: 'calendly.com' }, 'Calendly', 'ben@example.com'],
    ]);
  });

  it('reports a row without an app name, a connector or domain, or any date; refuses a header without a date column', async () => {
    const text = [
      'App,Connector,Owner,Created,Last used',
      ',slack,a@example.com,2026-11-01,',
      'Flow,,a@example.com,2026-11-01,',
      'Flow,slack,a@example.com,,',
      'Flow,slack,a@example.com,2026-11-01,',
    ].join('\n');
    const { sightings, errors } = await readCsvFile('c.csv', text);
    expect(sightings).toHaveLength(1);
    expect(errors).toEqual([
      { file: 'c.csv', line: 2, message: 'required field app name is empty' },
      { file: 'c.csv', line: 3, message: 'required field connector (or domain) is empty' },
      { file: 'c.csv', line: 4, message: 'required field last used (or created) is empty' },
    ]);
    const noDates = await readCsvFile('c.csv', 'App,Connector,Owner\nFlow,slack,a@example.com\n');
    expect(noDates.errors[0]!.message).toMatch(/required column lastUsed \("last used".*\) or created \("created"/);
  });
});

describe('header detection and column names', () => {
  it('detects the CSV formats by header, any case and punctuation, and leaves other CSVs unknown', () => {
    expect(detectCsvFormat(['SUPPLIER_NAME', 'Net-Amount', 'Posting Date'])).toBe('invoices');
    expect(detectCsvFormat(['Connection name', 'Connector'])).toBe('saas-connectors');
    expect(detectCsvFormat(['Name', 'Domain'])).toBe('saas-connectors');
    expect(detectCsvFormat(['Name', 'Email', 'Team'])).toBeUndefined();
    expect(detectFormat('x.csv', '\uFEFFVendor;Amount;Date')).toBe('invoices');
    expect(detectFormat('x.csv', 'App Name\tClient ID\tUser\tLast Used')).toBe('saas-connectors');
    expect(detectFormat('x.csv', 'id,name,email')).toBeUndefined();
  });

  it('refuses a missing column group with every alias it may have', () => {
    expect(() => csvRowReader('saas-connectors', ['App', 'Owner', 'Created'])).toThrow(
      /required column connector \(.*"connector id".*\) or domain \(.*"website".*\) is missing/,
    );
  });

  it('is not read as single raw lines (a CSV row needs its header)', () => {
    expect(() => readLine('invoices', 'Slack,10,2026-11-01', { file: 't', line: 1, text: '' })).toThrow(LineError);
  });
});

describe('keys and matching', () => {
  it('normalises vendors, domains and dates explicitly', () => {
    expect(slugOf('Atlassian Pty. Ltd.')).toBe('atlassian');
    expect(slugOf('Société Générale SA')).toBe('societe-generale');
    expect(slugOf('Acme, Inc.')).toBe('acme');
    expect(domainOf('https://WWW.Slack.com:443/pricing')).toBe('slack.com');
    expect(() => domainOf('slack')).toThrow(/not a host name/);
    expect(isoDate('2026-02-29')).toBeUndefined();
    expect(isoDate('2026-11-03T10:00:00+01:00')).toEqual(new Date('2026-11-03T09:00:00Z'));
    expect(isoDate('2026-11-03 10:00:00.25Z')).toEqual(new Date('2026-11-03T10:00:00.250Z'));
    expect(saasMatch({ vendor: 'Miro', product: 'Miro' })).toEqual({ resourceId: 'saas:miro' });
  });

  it('matches a registered app by the domain (its endpoint host, a wildcard covering sub-domains) or by the saas resource id a registration added', () => {
    const matcher = createMatcher([
      { id: 'app_slack', idpClientIds: [], cloudResourceIds: [], endpoints: [{ host: '*.slack.com' }] },
      { id: 'app_miro', idpClientIds: [], cloudResourceIds: ['saas:miro'], endpoints: [] },
      { id: 'app_zapier', idpClientIds: ['1234-abc'], cloudResourceIds: [], endpoints: [] },
    ]);
    expect(matcher.match({ match: saasMatch({ vendor: 'Slack', domain: domainOf('acme.slack.com') }) })).toBe(
      'app_slack',
    );
    expect(matcher.match({ match: saasMatch({ vendor: 'Miro GmbH' }) })).toBe('app_miro');
    expect(matcher.match({ match: saasMatch({ clientId: '1234-abc', domain: 'zapier.com' }) })).toBe('app_zapier');
    expect(matcher.match({ match: saasMatch({ vendor: 'Notion Labs Inc.', product: 'Notion' }) })).toBeNull();
    expect(candidateKey({ match: saasMatch({ vendor: 'Notion Labs Inc.', product: 'Notion' }) })).toBe(
      'resource:saas:notion-labs/notion',
    );
  });
});
