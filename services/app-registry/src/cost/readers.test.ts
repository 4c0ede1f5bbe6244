import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createAggregation, createAttribution } from './attribution.js';
import { FOCUS_HEADER, focusFile, focusRow } from './fixtures.js';
import { formatDecimal, parseDecimal } from './money.js';
import { CostFileError, type CostFormat, type CostLine, dayOf, readCostFile } from './readers.js';

async function readChunks(chunks: string[], format?: CostFormat) {
  const lines: CostLine[] = [];
  const result = await readCostFile(
    Readable.from(chunks),
    (l) => {
      lines.push(l);
    },
    format ? { format } : {},
  );
  return { ...result, lines };
}

async function read(text: string, format?: CostFormat) {
  // Small chunks: records and even cells are split across them, as on the wire.
  const small = await readChunks(text.match(/[\s\S]{1,7}/g) ?? [], format);
  // And the file in one chunk of many records: the same lines.
  expect(await readChunks([text], format)).toEqual(small);
  return small;
}

async function refusal(text: string) {
  const error = await read(text).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CostFileError);
  return error as CostFileError;
}

const CUR_HEADER = [
  'identity/LineItemId',
  'bill/PayerAccountId',
  'lineItem/UsageAccountId',
  'lineItem/LineItemType',
  'lineItem/UsageStartDate',
  'lineItem/UsageEndDate',
  'lineItem/ProductCode',
  'lineItem/UnblendedCost',
  'lineItem/BlendedCost',
  'lineItem/CurrencyCode',
  'lineItem/ResourceId',
  'product/ProductName',
  'product/region',
  'resourceTags/user:app-id',
  'resourceTags/user:environment',
].join(',');

describe('FOCUS 1.2 cost files', () => {
  it('reads each line: billed cost exactly, the day its charge starts, tags, resource, account', async () => {
    const file = focusFile([
      {
        day: '2026-03-01',
        cost: '1.25',
        resourceId: 'arn:aws:lambda:eu-west-1:1:function:a',
        tags: { 'app-id': 'app_1' },
      },
      { day: '2026-03-02', cost: '2.5e-3', serviceCategory: 'Storage', currency: 'USD' },
    ]);
    const { format, rows, lines } = await read(file);
    expect(format).toBe('focus');
    expect(rows).toBe(2);
    expect(lines[0]).toMatchObject({
      row: 1,
      day: '2026-03-01',
      cost: 1_250_000_000n,
      currency: 'EUR',
      resourceId: 'arn:aws:lambda:eu-west-1:1:function:a',
      serviceCategory: 'Compute',
      account: '111122223333',
      tags: { 'app-id': 'app_1' },
    });
    expect(lines[1]).toMatchObject({ row: 2, cost: 2_500_000n, currency: 'USD', resourceId: null, tags: {} });
  });

  it('takes a valueless tag as true, and quoted cells with commas and line breaks', async () => {
    const header = FOCUS_HEADER.join(',');
    const row = focusRow({ day: '2026-03-01', cost: '1' })
      .replace('usage', '"two\nlines, quoted"')
      .replace(/,$/, ',"{""flag"": null, ""note"": ""a,b""}"');
    const { lines } = await read(`\uFEFF${header}\r\n${row}\r\n`);
    expect(lines[0]!.tags).toEqual({ flag: 'true', note: 'a,b' });
    expect(lines[0]!.cost).toBe(1_000_000_000n);
  });

  it('reads a multi-byte UTF-8 character split between two chunks whole', async () => {
    const tags = { team: 'Zürich €', 'app-id': '日本-app' };
    const bytes = Buffer.from(
      focusFile([{ day: '2026-03-01', cost: '1', resourceId: 'arn:aws:s3:::données', tags }]),
      'utf8',
    );
    // Cut inside the euro sign (3 bytes): its first byte ends one chunk, the other two start the next.
    const euro = bytes.indexOf(Buffer.from('€', 'utf8'));
    const cuts = [bytes.subarray(0, euro + 1), bytes.subarray(euro + 1)];
    // And every character cut somewhere: chunks of 5 bytes.
    const fives = Array.from({ length: Math.ceil(bytes.length / 5) }, (_, i) => bytes.subarray(i * 5, i * 5 + 5));
    for (const chunks of [cuts, fives]) {
      const lines: CostLine[] = [];
      await readCostFile(Readable.from(chunks), (l) => {
        lines.push(l);
      });
      expect(lines).toHaveLength(1);
      expect(lines[0]!.tags).toEqual(tags);
      expect(lines[0]!.resourceId).toBe('arn:aws:s3:::données');
    }
  });

  it('reads the last line without a line break after it, and a file of old Mac line breaks', async () => {
    const file = focusFile([
      { day: '2026-03-01', cost: '1' },
      { day: '2026-03-02', cost: '2' },
    ]);
    expect((await read(file.trimEnd())).lines.map((l) => l.cost)).toEqual([1_000_000_000n, 2_000_000_000n]);
    expect((await read(file.replaceAll('\n', '\r'))).lines.map((l) => l.day)).toEqual(['2026-03-01', '2026-03-02']);
  });

  it('refuses a file without a mandatory column whole, naming the column, before reading any row', async () => {
    const file = focusFile([{ day: '2026-03-01', cost: '1' }]).replace('BilledCost', 'BilledCosts');
    const error = await refusal(file);
    expect(error.message).toContain('mandatory column BilledCost is missing');
    expect(error.details).toMatchObject({ column: 'BilledCost' });
  });

  it('refuses a bad decimal whole, naming the row and the column', async () => {
    const rows = [
      { day: '2026-03-01', cost: '1' },
      { day: '2026-03-02', cost: '1,50' },
    ];
    const error = await refusal(focusFile(rows));
    expect(error.message).toMatch(/^row 2, column BilledCost: not a decimal/);
    expect(error.details).toMatchObject({ row: 2, column: 'BilledCost' });
  });

  it('refuses a bad date, an unknown category, a currency that is none and tags that are no JSON object', async () => {
    const good = { day: '2026-03-01', cost: '1' };
    expect((await refusal(focusFile([good, { ...good, day: '2026-02-30' }]))).message).toMatch(
      /row 2, column ChargePeriodStart: not a UTC date-time/,
    );
    expect((await refusal(focusFile([{ ...good, serviceCategory: 'Snacks' }]))).message).toMatch(
      /row 1, column ServiceCategory/,
    );
    expect((await refusal(focusFile([{ ...good, currency: 'euro' }]))).message).toMatch(
      /row 1, column BillingCurrency/,
    );
    const badTags = `${FOCUS_HEADER.join(',')}\n${focusRow(good).replace(/,$/, ',[1]')}\n`;
    expect((await refusal(badTags)).message).toMatch(/row 1, column Tags: not a JSON object/);
  });

  it('refuses a row with a cell too many, or an unclosed quote, naming the row', async () => {
    const file = `${focusFile([{ day: '2026-03-01', cost: '1' }])}${focusRow({ day: '2026-03-02', cost: '1' })},extra\n`;
    expect((await refusal(file)).message).toMatch(/^row 2: 25 cells where the header has 24/);
    const unclosed = focusFile([
      { day: '2026-03-01', cost: '1' },
      { day: '2026-03-02', cost: '1' },
    ]).replace('usage', '"usage');
    expect((await refusal(unclosed)).message).toMatch(/^row 1: \d+ cells where the header has 24/);
  });

  it('refuses a header of no known format, and an empty file', async () => {
    expect((await refusal('date,amount\n2026-03-01,1\n')).message).toMatch(/unknown cost file format/);
    expect((await refusal('')).message).toMatch(/empty/);
  });
});

describe('AWS CUR (legacy CSV) cost files', () => {
  it('reads unblended cost, the product as a service category, and resourceTags/user: columns as tags', async () => {
    const file = [
      CUR_HEADER,
      'id1,999,111,Usage,2026-03-01T00:00:00Z,2026-03-01T01:00:00Z,AWSLambda,0.0000002,0.0000002,USD,arn:aws:lambda:eu-west-1:111:function:pay,AWS Lambda,eu-west-1,app_1,production',
      'id2,999,111,Tax,2026-03-01T00:00:00Z,2026-04-01T00:00:00Z,AmazonS3,1.5E+00,1.5,USD,,Amazon Simple Storage Service,,,',
    ].join('\n');
    const { format, lines } = await read(file);
    expect(format).toBe('cur');
    expect(lines[0]).toMatchObject({
      day: '2026-03-01',
      cost: 200n,
      currency: 'USD',
      resourceId: 'arn:aws:lambda:eu-west-1:111:function:pay',
      serviceCategory: 'Compute',
      account: '999',
      tags: { 'app-id': 'app_1', environment: 'production' },
    });
    expect(lines[1]).toMatchObject({ cost: 1_500_000_000n, serviceCategory: 'Storage', resourceId: null, tags: {} });
  });

  it('refuses a CUR file without its cost column, naming it', async () => {
    const error = await refusal(`${CUR_HEADER.replace('lineItem/UnblendedCost', 'lineItem/NetCost')}\n`);
    expect(error.message).toContain('mandatory column lineItem/UnblendedCost is missing');
  });

  it('reads a file as the format asked for', async () => {
    const error = await read(focusFile([{ day: '2026-03-01', cost: '1' }]), 'cur').catch((e: Error) => e);
    expect((error as Error).message).toContain('not a AWS Cost and Usage Report (CSV) file');
  });
});

/** A CUR 2.0 Data Exports CSV as AWS writes it (a subset of the fixed columns, in their order; maps as JSON cells). */
const CUR2_FILE = readFileSync(new URL('../../test/fixtures/cost/cur2-2026-03.csv', import.meta.url), 'utf8');
const PAY_FUNCTION = 'arn:aws:lambda:eu-west-1:111122223333:function:pay-refunds';

describe('AWS CUR 2.0 (Data Exports CSV) cost files', () => {
  it('recognises the header and reads unblended cost exactly, the product map, and resource_tags user_ keys as tags', async () => {
    const { format, rows, lines } = await read(CUR2_FILE);
    expect(format).toBe('cur2');
    expect(rows).toBe(7);
    expect(lines[0]).toMatchObject({
      row: 1,
      day: '2026-03-01',
      cost: 16_667n, // 0.0000166667, to the nano-unit
      currency: 'USD',
      resourceId: PAY_FUNCTION,
      serviceCategory: 'Compute',
      serviceName: 'AWS Lambda',
      account: '999988887777',
      // aws_created_by is AWS's own tag, not a cost allocation tag somebody made: left out.
      tags: { environment: 'production' },
    });
    expect(lines[1]).toMatchObject({ cost: 1_200n, tags: {} });
    expect(lines[2]).toMatchObject({
      resourceId: 'i-0abc123def4567890',
      tags: { app_id: 'WEB_ID', environment: 'staging' },
    });
    expect(lines[3]).toMatchObject({ day: '2026-03-02', serviceCategory: 'Storage', tags: { team: 'data' } });
    expect(lines[4]).toMatchObject({ serviceCategory: 'Management and Governance', resourceId: null, tags: {} });
    expect(lines[5]).toMatchObject({ cost: -5_000_000n });
    const total = lines.reduce((sum, l) => sum + l.cost, 0n);
    expect(formatDecimal(total)).toBe('0.336420867');
  });

  it('attributes by the app tag (as CUR 2.0 spells app-id) and by resource id; the rest is untagged', async () => {
    const attribute = createAttribution([
      { id: 'app_web', teamName: 'web', cloudResourceIds: [] },
      { id: 'app_pay', teamName: 'payments', cloudResourceIds: [PAY_FUNCTION] },
    ]);
    const aggregation = createAggregation(attribute);
    const { lines } = await read(CUR2_FILE.replace('WEB_ID', 'app_web'));
    for (const line of lines) aggregation.add(line);
    const result = aggregation.result();
    expect(result.lines).toEqual({ byTag: 1, byResource: 2, untagged: 4 });
    expect(result.rows.find((r) => r.appId === 'app_web')).toMatchObject({ cost: 18_400_000n, environment: 'staging' });
    expect(result.rows.find((r) => r.resourceId === 'pay-refunds-exports')).toMatchObject({
      appId: null,
      team: 'data',
    });
    const usd = result.totals.get('USD')!;
    expect(formatDecimal(usd.total)).toBe('0.336420867');
    expect(usd.untagged).toBe(parseDecimal('0.023')! + parseDecimal('0.30')! - parseDecimal('0.005')! + 3_000n);
  });

  it('refuses a file without a column it needs whole, naming the column', async () => {
    const error = await refusal(CUR2_FILE.replace('line_item_unblended_cost', 'line_item_unblended_costs'));
    expect(error.message).toContain('mandatory column line_item_unblended_cost is missing');
    expect(error.details).toMatchObject({ column: 'line_item_unblended_cost' });
  });

  it('refuses tags that are no JSON map, and a bad cost, naming the row and column', async () => {
    const badTags = CUR2_FILE.replace('"{""user_team"":""data""}"', 'user_team=data');
    expect((await refusal(badTags)).message).toMatch(/^row 4, column resource_tags: not a JSON object/);
    const badCost = CUR2_FILE.replace('pay-refunds-exports,,0.023,', 'pay-refunds-exports,,0.023 USD,');
    expect((await refusal(badCost)).message).toMatch(/^row 4, column line_item_unblended_cost: not a decimal/);
  });

  it('reads a FOCUS file asked for as CUR 2.0 as the wrong file it is', async () => {
    const error = await read(focusFile([{ day: '2026-03-01', cost: '1' }]), 'cur2').catch((e: Error) => e);
    expect((error as Error).message).toContain('mandatory column line_item_usage_start_date');
  });
});

describe('attribution', () => {
  const apps = [
    { id: 'app_pay', teamName: 'payments', cloudResourceIds: ['arn:aws:lambda:eu-west-1:1:function:pay'] },
    { id: 'app_web', teamName: 'web', cloudResourceIds: [] },
  ];
  const attribute = createAttribution(apps);

  it('by tag first, then by resource id; otherwise untagged, with its team and environment tags', () => {
    expect(attribute({ tags: { 'app-id': 'app_web' }, resourceId: 'arn:aws:lambda:eu-west-1:1:function:pay' })).toEqual(
      { appId: 'app_web', via: 'tag', team: 'web', environment: null },
    );
    expect(attribute({ tags: { 'micro-oncall.io/app': 'app_pay', env: 'staging' }, resourceId: null })).toMatchObject({
      appId: 'app_pay',
      via: 'tag',
      environment: 'staging',
    });
    expect(attribute({ tags: {}, resourceId: 'arn:aws:lambda:eu-west-1:1:function:pay' })).toMatchObject({
      appId: 'app_pay',
      via: 'resource',
      team: 'payments',
    });
    expect(attribute({ tags: { 'app-id': 'app_gone', team: 'data' }, resourceId: 'i-123' })).toEqual({
      appId: null,
      via: null,
      team: 'data',
      environment: null,
    });
  });

  it('sums lines into daily rows and keeps the untagged total, exactly', async () => {
    const aggregation = createAggregation(attribute);
    const { lines } = await read(
      focusFile([
        { day: '2026-03-01', cost: '0.1', tags: { 'app-id': 'app_web' } },
        { day: '2026-03-01', cost: '0.2', tags: { 'app-id': 'app_web' } },
        { day: '2026-03-01', cost: '0.3', resourceId: 'arn:aws:lambda:eu-west-1:1:function:pay' },
        { day: '2026-03-02', cost: '5', resourceId: 'vm-unknown' },
      ]),
    );
    for (const line of lines) aggregation.add(line);
    const result = aggregation.result();
    expect(result.rows).toHaveLength(3);
    expect(result.rows.find((r) => r.appId === 'app_web')).toMatchObject({ cost: 300_000_000n, lines: 2 });
    const eur = result.totals.get('EUR')!;
    expect(formatDecimal(eur.total)).toBe('5.6');
    expect(formatDecimal(eur.untagged)).toBe('5');
    expect(result.days).toEqual(['2026-03-01', '2026-03-02']);
    expect(result.lines).toEqual({ byTag: 2, byResource: 1, untagged: 1 });
  });

  it('reads dates as FOCUS writes them, and only real ones', () => {
    expect(dayOf('2026-03-01T23:59:59Z')).toBe('2026-03-01');
    expect(dayOf('2026-03-01T00:00:00.000Z')).toBe('2026-03-01');
    expect(dayOf('2026-13-01T00:00:00Z')).toBeNull();
    expect(dayOf('01/03/2026')).toBeNull();
  });
});
