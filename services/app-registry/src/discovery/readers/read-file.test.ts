import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { temporaryDirectories } from '@micro-oncall/test-kit/temp';
import { describe, expect, it } from 'vitest';
import type { ReadError, Sighting } from '../sighting.js';
import { LineError } from './common.js';
import { type FileReading, MAX_ERRORS_KEPT, type ReadFileOptions, readFile, readLine } from './read-file.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/discovery');
const fixture = (name: string) => readFileSync(join(fixtures, name));
const tempDir = temporaryDirectories();
// The two tests that read a few hundred KiB get room for a loaded CI machine.

const TRAIL_PATH =
  'AWSLogs/111122223333/CloudTrail/us-east-1/2026/12/01/111122223333_CloudTrail_us-east-1_20261201T0910Z_a1b2c3d4e5f6g7h8.json.gz';

/** Writes files (relative name → content) into a fresh folder; returns the folder. */
function folder(files: Record<string, string | Buffer>): string {
  const dir = tempDir('app-registry-readers-');
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  return dir;
}

async function collect(reading: FileReading): Promise<Sighting[]> {
  const out: Sighting[] = [];
  for await (const sighting of reading) out.push(sighting);
  return out;
}

async function read(dir: string, name: string, options: ReadFileOptions = {}) {
  const reading = readFile(join(dir, name), { name, ...options });
  const sightings = await collect(reading);
  return { sightings, errors: reading.errors, progress: reading.progress };
}

const nginxLine = (i: number, path = `/page/${i}`) =>
  `192.0.2.${i % 250} - - [01/Dec/2026:10:20:${String(i % 60).padStart(2, '0')} +0000] "GET ${path} HTTP/1.1" 200 ${i} "-" "curl/8.11.0"`;

describe('readFile', () => {
  it('reads a gzipped CloudTrail log: the Lambda function dana created, with where it was found', async () => {
    const dir = folder({ [TRAIL_PATH]: gzipSync(fixture('cloudtrail.json')) });
    const { sightings, errors, progress } = await read(dir, TRAIL_PATH);
    expect(errors).toEqual([]);
    expect(progress).toMatchObject({ format: 'cloudtrail', complete: true, cursor: 7, linesRead: 7 });
    expect(progress.bytesRead).toBe(gzipSync(fixture('cloudtrail.json')).length);
    expect(sightings[0]).toMatchObject({
      format: 'cloudtrail',
      kind: 'function',
      action: 'create',
      label: 'invoice-parser',
      match: { resourceId: 'arn:aws:lambda:us-east-1:111122223333:function:invoice-parser' },
      actor: 'arn:aws:iam::111122223333:user/dana',
      recordId: '5c8d3c4e-1f2a-4b6c-8d9e-0a1b2c3d4e5f',
      at: new Date('2026-12-01T09:02:11Z'),
      evidence: { file: TRAIL_PATH, line: 1 },
    });
    expect(JSON.parse(sightings[0]!.evidence.text)).toMatchObject({ eventName: 'CreateFunction20150331' });
    // The read-only call (record 2) and the failed CreateBucket (record 4) are not sightings.
    expect(sightings.map((s) => [s.evidence.line, s.kind, s.action])).toEqual([
      [1, 'function', 'create'],
      [3, 'function', 'create'],
      [5, 'api-gateway', 'create'],
      [6, 'cdn', 'create'],
      [7, 'function', 'deploy'],
    ]);
  });

  it('recognises gzip by its magic bytes, not by the file name', async () => {
    const minified = JSON.stringify(JSON.parse(fixture('cloudtrail.json').toString()));
    const dir = folder({ 'trail.json': gzipSync(minified), 'plain.json.gz': minified });
    for (const name of ['trail.json', 'plain.json.gz']) {
      const { sightings, errors } = await read(dir, name);
      expect(errors).toEqual([]);
      expect(sightings).toHaveLength(5);
    }
  });

  it('streams a single-line CloudTrail document much larger than what it looks at to detect the format', async () => {
    const base = JSON.parse(fixture('cloudtrail.json').toString()).Records[0];
    const records = Array.from({ length: 400 }, (_, i) => ({
      ...base,
      eventID: `id-${i}`,
      requestParameters: { functionName: `fn-${i}` },
      responseElements: { functionArn: `arn:aws:lambda:us-east-1:111122223333:function:fn-${i}` },
    }));
    const document = JSON.stringify({ Records: records });
    expect(document.length).toBeGreaterThan(4 * 64 * 1024);
    const dir = folder({ 'big.json.gz': gzipSync(document) });
    const { sightings, errors, progress } = await read(dir, 'big.json.gz');
    expect(errors).toEqual([]);
    expect(progress).toMatchObject({ cursor: 400, complete: true });
    expect(sightings).toHaveLength(400);
    expect(sightings[399]).toMatchObject({ label: 'fn-399', evidence: { line: 400 } });
  }, 30_000);

  it('cuts the evidence text to 2,000 characters', async () => {
    const base = JSON.parse(fixture('cloudtrail.json').toString()).Records[0];
    const record = {
      ...base,
      requestParameters: { ...base.requestParameters, environment: { notes: 'x'.repeat(5000) } },
    };
    const dir = folder({ 'trail.json': JSON.stringify({ Records: [record] }) });
    const { sightings } = await read(dir, 'trail.json');
    expect(sightings[0]!.evidence.text).toHaveLength(2000);
  });

  it('skips CloudTrail digest and Insight files without reading them', async () => {
    const name =
      'AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/12/01/111122223333_CloudTrail-Digest_us-east-1_t_us-east-1_20261201T091000Z.json.gz';
    const dir = folder({
      [name]: gzipSync('{"awsAccountId":"111122223333","digestStartTime":"2026-12-01T08:10:00Z"}'),
    });
    const { sightings, errors, progress } = await read(dir, name);
    expect(sightings).toEqual([]);
    expect(errors).toEqual([]);
    expect(progress).toMatchObject({ complete: true, skipped: expect.stringMatching(/digest/) });
  });

  it('reads API Gateway traffic to reports.internal.example.com; a line without a host is an error unless the source gives one', async () => {
    const dir = folder({ 'api/access.log': fixture('apigateway.log') });
    const plain = await read(dir, 'api/access.log');
    expect(plain.sightings.map((s) => [s.match.host, s.path, s.status, s.caller])).toEqual([
      ['reports.internal.example.com', '/reports/2026-11', 200, '10.20.30.40'],
      ['reports.internal.example.com', '/reports', 403, '10.20.30.41'],
    ]);
    expect(plain.sightings[0]).toMatchObject({ kind: 'endpoint', action: 'traffic', at: new Date(1796120102123) });
    expect(plain.errors).toEqual([
      { file: 'api/access.log', line: 4, message: expect.stringMatching(/no domainName.*no host option/) },
    ]);
    const withHost = await read(dir, 'api/access.log', { host: 'reports.internal.example.com' });
    expect(withHost.errors).toEqual([]);
    expect(withHost.sightings).toHaveLength(3);
  });

  it('reads NGINX (host from the source, or the appended $host field) and Envoy logs', async () => {
    const dir = folder({
      'nginx.log': fixture('nginx.log'),
      'nginx-with-host.log': fixture('nginx-with-host.log'),
      'envoy.log': fixture('envoy.log'),
    });
    const nginx = await read(dir, 'nginx.log', { host: 'timesheets.example.com' });
    expect(nginx.progress.format).toBe('nginx');
    expect(nginx.sightings.map((s) => [s.match.host, s.path, s.caller])).toEqual([
      ['timesheets.example.com', '/timesheets/week/48', '192.0.2.10'],
      ['timesheets.example.com', '/timesheets', '192.0.2.11'],
      ['timesheets.example.com', undefined, '192.0.2.12'],
    ]);
    const withHost = await read(dir, 'nginx-with-host.log');
    expect(withHost.sightings.map((s) => s.match.host)).toEqual(['wiki.example.com', 'wiki.example.com']);
    const envoy = await read(dir, 'envoy.log');
    expect(envoy.progress.format).toBe('envoy');
    expect(envoy.sightings.map((s) => [s.match.host, s.path, s.status])).toEqual([
      ['helpdesk.internal.example.com', '/api/v1/tickets', 200],
      ['helpdesk.internal.example.com', '/api/v1/tickets', undefined],
    ]);
  });

  it('reads GCP audit logs one entry per line or as an array; a truncated entry is an error and reading goes on', async () => {
    const lines = fixture('gcp-audit.jsonl').toString();
    const whole = lines
      .split('\n')
      .filter((l) => l.trim())
      .flatMap((l) => {
        try {
          return [JSON.parse(l)];
        } catch {
          return [];
        }
      });
    const dir = folder({ 'gcp.jsonl': lines, 'gcp-array.json': JSON.stringify(whole, null, 2) });
    const perLine = await read(dir, 'gcp.jsonl');
    expect(perLine.errors).toEqual([
      { file: 'gcp.jsonl', line: 5, message: expect.stringMatching(/not valid JSON, a truncated record/) },
    ]);
    expect(perLine.sightings.map((s) => [s.evidence.line, s.label, s.action, s.actor])).toEqual([
      [1, 'expense-bot', 'create', 'ravi@example.com'],
      [3, 'pdf-thumbnailer', 'create', 'deployer@acme-prod.iam.gserviceaccount.com'],
      [6, 'expense-bot', 'deploy', 'ravi@example.com'],
    ]);
    expect(perLine.progress).toMatchObject({ complete: true, cursor: 6 });
    const array = await read(dir, 'gcp-array.json');
    expect(array.errors).toEqual([]);
    expect(array.sightings.map((s) => s.label)).toEqual(['expense-bot', 'pdf-thumbnailer', 'expense-bot']);
  });

  it('reads Azure Activity Log REST documents and the flat records export', async () => {
    const dir = folder({ 'rest.json': fixture('azure-activity.json'), 'export.json': fixture('azure-export.json') });
    const rest = await read(dir, 'rest.json');
    expect(rest.errors).toEqual([]);
    expect(rest.sightings.map((s) => [s.evidence.line, s.kind, s.label, s.actor])).toEqual([
      [2, 'function', 'Expense-Approvals', 'maria@contoso.example'],
      [5, 'container-app', 'leave-planner', '8c1d2e3f-4a5b-4c6d-8e7f-901234567890'],
    ]);
    const flat = await read(dir, 'export.json');
    expect(flat.sightings.map((s) => [s.kind, s.actor])).toEqual([['api-gateway', 'tomas@contoso.example']]);
  });

  it('starts after the cursor and reports how far it got, so a re-run never yields a line twice', async () => {
    const lines = Array.from({ length: 10 }, (_, i) => nginxLine(i + 1)).join('\n');
    const dir = folder({ 'a.log': `${lines}\n`, [TRAIL_PATH]: gzipSync(fixture('cloudtrail.json')) });
    // A run that stops after its third sighting…
    const first = readFile(join(dir, 'a.log'), { host: 'a.example.com' });
    const seen: number[] = [];
    for await (const s of first) {
      seen.push(s.evidence.line);
      if (seen.length === 3) break;
    }
    expect(first.progress.cursor).toBe(3);
    // …and the next one, from its cursor, reads the rest once.
    const second = await read(dir, 'a.log', { host: 'a.example.com', cursor: first.progress.cursor });
    expect(second.sightings.map((s) => s.evidence.line)).toEqual([4, 5, 6, 7, 8, 9, 10]);
    expect(second.progress).toMatchObject({ cursor: 10, linesRead: 7, complete: true });
    const third = await read(dir, 'a.log', { host: 'a.example.com', cursor: 10 });
    expect(third.sightings).toEqual([]);
    expect(third.progress).toMatchObject({ cursor: 10, linesRead: 0, complete: true });
    // In a JSON document the cursor counts records.
    const trail = await read(dir, TRAIL_PATH, { cursor: 3 });
    expect(trail.sightings.map((s) => s.evidence.line)).toEqual([5, 6, 7]);
    expect(trail.progress).toMatchObject({ cursor: 7, linesRead: 4 });
  });

  it('ends a corrupt gzip with an error at the line it reached, keeping what came before', async () => {
    const lines = Array.from({ length: 20_000 }, (_, i) => nginxLine(i + 1)).join('\n');
    const gz = gzipSync(lines);
    const dir = folder({
      'cut.log.gz': gz.subarray(0, Math.floor(gz.length / 2)),
      'garbage.log.gz': Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.from('this is not deflate data at all')]),
      'good.log': `${nginxLine(1)}\n`,
    });
    const cut = await read(dir, 'cut.log.gz', { host: 'a.example.com' });
    expect(cut.progress.complete).toBe(false);
    expect(cut.errors).toHaveLength(1);
    expect(cut.errors[0]).toMatchObject({
      file: 'cut.log.gz',
      message: expect.stringMatching(/corrupt or truncated gzip/),
    });
    expect(cut.sightings.length).toBeGreaterThan(1000);
    expect(cut.sightings.length).toBeLessThan(20_000);
    // Every line before the error was read, in order; the cut-off line is neither read nor counted.
    expect(cut.sightings.at(-1)!.evidence.line).toBe(cut.sightings.length);
    expect(cut.progress.cursor).toBe(cut.sightings.length);
    expect(cut.errors[0]!.line).toBe(cut.progress.cursor + 1);

    const garbage = await read(dir, 'garbage.log.gz', { host: 'a.example.com' });
    expect(garbage.sightings).toEqual([]);
    expect(garbage.errors).toEqual([
      { file: 'garbage.log.gz', line: 1, message: expect.stringMatching(/corrupt or truncated gzip/) },
    ]);
    // Other files are unaffected.
    const good = await read(dir, 'good.log', { host: 'a.example.com' });
    expect(good.errors).toEqual([]);
    expect(good.sightings).toHaveLength(1);
  }, 30_000);

  it('ends a truncated JSON document with an error at the record it reached', async () => {
    const dir = folder({ 'truncated.json': fixture('truncated-cloudtrail.json') });
    const { sightings, errors, progress } = await read(dir, 'truncated.json');
    expect(sightings.map((s) => s.label)).toEqual(['dana-scratch-2026']);
    expect(errors).toEqual([
      { file: 'truncated.json', line: 2, message: expect.stringMatching(/invalid or truncated JSON after record 1/) },
    ]);
    expect(progress).toMatchObject({ complete: false, cursor: 1 });
    // Cut between two records: every record is whole, the document is not.
    const records = JSON.parse(fixture('cloudtrail.json').toString()).Records.slice(0, 2);
    const cut = JSON.stringify({ Records: records }).slice(0, -2);
    const cutDir = folder({ 'cut.json': cut });
    const unclosed = await read(cutDir, 'cut.json');
    expect(unclosed.sightings).toHaveLength(1);
    expect(unclosed.errors).toEqual([
      {
        file: 'cut.json',
        line: 3,
        message: 'invalid or truncated JSON after record 2: the document ends before it is closed',
      },
    ]);
    expect(unclosed.progress.complete).toBe(false);
  });

  it('skips a CloudTrail record in another encoding or over the size limit with an error, and reads the rest', async () => {
    const [first, second, third] = JSON.parse(fixture('cloudtrail.json').toString()).Records;
    const latin1 = Buffer.from(JSON.stringify({ ...second, userAgent: 'caf\u00e9' }), 'latin1');
    const document = Buffer.concat([
      Buffer.from(`{"Records":[${JSON.stringify(first)},`),
      latin1,
      Buffer.from(
        `,${JSON.stringify({ ...third, requestParameters: { ...third.requestParameters, pad: 'x'.repeat(4000) } })}`,
      ),
      Buffer.from(`,${JSON.stringify(first)}]}`),
    ]);
    const dir = folder({ 'mixed.json': document });
    const { sightings, errors, progress } = await read(dir, 'mixed.json', { maxLineBytes: 3000 });
    expect(errors).toEqual([
      { file: 'mixed.json', line: 2, message: 'record is not valid UTF-8: skipped' },
      { file: 'mixed.json', line: 3, message: 'record longer than 3000 bytes: skipped' },
    ]);
    // Record 4 repeats record 1 (same eventID): one sighting.
    expect(sightings.map((s) => s.evidence.line)).toEqual([1]);
    expect(progress).toMatchObject({ complete: true, cursor: 4, linesRead: 4 });
  });

  it('sights a CloudTrail event listed twice in a file once, in documents and one record per line', async () => {
    const records = JSON.parse(fixture('cloudtrail.json').toString()).Records;
    const twice = [...records, records[0], records[2]];
    const dir = folder({
      'twice.json': JSON.stringify({ Records: twice }),
      'twice.jsonl': `${twice.map((r: unknown) => JSON.stringify(r)).join('\n')}\n`,
    });
    for (const name of ['twice.json', 'twice.jsonl']) {
      const { sightings, errors, progress } = await read(dir, name, { format: 'cloudtrail' });
      expect(errors).toEqual([]);
      expect(sightings.map((s) => s.evidence.line)).toEqual([1, 3, 5, 6, 7]);
      expect(progress).toMatchObject({ complete: true, cursor: 9 });
    }
  });

  it('refuses a file of unknown format, naming the line; an explicit format overrides detection', async () => {
    const withHeader = `# exported from web-01\n${nginxLine(1)}\n${nginxLine(2)}\n`;
    const dir = folder({ 'syslog.log': fixture('unknown.log'), 'export.txt': withHeader, 'empty.log': '\n\n' });
    const unknown = await read(dir, 'syslog.log');
    expect(unknown.sightings).toEqual([]);
    expect(unknown.errors).toEqual([
      { file: 'syslog.log', line: 1, message: expect.stringMatching(/^unknown log format.*Dec {2}1 10:00:01 web-01/) },
    ]);
    expect(unknown.progress).toMatchObject({ complete: false, cursor: 0 });
    expect((await read(dir, 'export.txt')).errors[0]?.message).toMatch(/unknown log format/);
    const stated = await read(dir, 'export.txt', { format: 'nginx', host: 'web.example.com' });
    expect(stated.sightings).toHaveLength(2);
    expect(stated.errors).toEqual([{ file: 'export.txt', line: 1, message: 'not an NGINX combined log line' }]);
    const empty = await read(dir, 'empty.log');
    expect(empty).toMatchObject({ sightings: [], errors: [], progress: { complete: true } });
  });

  it('reports a line that is not valid UTF-8 and reads the lines around it', async () => {
    const bad = Buffer.concat([
      Buffer.from(`${nginxLine(1)}\r\n`),
      Buffer.from('192.0.2.9 - - [01/Dec/2026:10:20:02 +0000] "GET /caf'),
      Buffer.from([0xe9, 0xff, 0xfe]),
      Buffer.from(` HTTP/1.1" 200 1 "-" "-"\r\n${nginxLine(3)}\r\n`),
    ]);
    const dir = folder({ 'latin1.log': bad });
    const { sightings, errors, progress } = await read(dir, 'latin1.log', { host: 'a.example.com' });
    expect(errors).toEqual([{ file: 'latin1.log', line: 2, message: 'line is not valid UTF-8: skipped' }]);
    expect(sightings.map((s) => [s.evidence.line, s.path, s.evidence.text.endsWith('\r')])).toEqual([
      [1, '/page/1', false],
      [3, '/page/3', false],
    ]);
    expect(progress).toMatchObject({ complete: true, cursor: 3 });
  });

  it('skips an over-long line with an error, and keeps only the first errors of a file while counting all', async () => {
    const long = `${nginxLine(1)}\n${nginxLine(2, `/${'a'.repeat(5000)}`)}\n${nginxLine(3)}\n`;
    const noisy = [nginxLine(0), ...Array.from({ length: 150 }, (_, i) => `garbage ${i}`)].join('\n');
    const dir = folder({ 'long.log': long, 'noisy.log': noisy });
    const longRead = await read(dir, 'long.log', { host: 'a.example.com', maxLineBytes: 1000 });
    expect(longRead.errors).toEqual([{ file: 'long.log', line: 2, message: 'line longer than 1000 bytes: skipped' }]);
    expect(longRead.sightings.map((s) => s.evidence.line)).toEqual([1, 3]);

    const reported: ReadError[] = [];
    const noisyRead = await read(dir, 'noisy.log', { host: 'a.example.com', onError: (e) => reported.push(e) });
    expect(reported).toHaveLength(150);
    expect(noisyRead.errors).toHaveLength(MAX_ERRORS_KEPT);
    expect(noisyRead.progress.errorCount).toBe(150);
    expect(noisyRead.progress.cursor).toBe(151);
  });

  it('reports a file it cannot open', async () => {
    const dir = folder({});
    const { errors } = await read(dir, 'missing.log');
    expect(errors).toEqual([{ file: 'missing.log', line: 0, message: expect.stringMatching(/cannot open: .*ENOENT/) }]);
  });
});

describe('readLine', () => {
  it('reads one raw line of a stated format, as a consumer of a topic of raw log lines does', () => {
    const origin = (text: string) => ({ file: 'topic:access-logs/3', line: 1042, text });
    const nginx = nginxLine(7);
    expect(readLine('nginx', nginx, origin(nginx), { host: 'Shop.Example.com' })).toMatchObject({
      match: { host: 'shop.example.com' },
      path: '/page/7',
      evidence: { file: 'topic:access-logs/3', line: 1042 },
    });
    const record = JSON.stringify(JSON.parse(fixture('cloudtrail.json').toString()).Records[0]);
    expect(readLine('cloudtrail', record, origin(record))).toMatchObject({ label: 'invoice-parser', kind: 'function' });
    expect(() => readLine('cloudtrail', record.slice(0, 100), origin(''))).toThrow(LineError);
  });
});
