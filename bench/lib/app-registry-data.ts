/**
 * Input files for app-registry's discovery and cost benchmarks, generated deterministically (a
 * seeded PRNG: the same counts, hosts and start time give the same bytes) and streamed to disk
 * with back-pressure, so that generating 10 million lines never holds more than one chunk:
 *
 * - discovery sources as exporters write them: `nginx/` (NGINX combined with `"$host"` appended,
 *   rotated and gzipped), `envoy/` (Envoy's default format, gzipped) and `cloudtrail/` (CloudTrail
 *   log files as S3 holds them, `{"Records": [...]}` gzipped, mostly read-only calls and a few
 *   creates and deploys);
 * - a FOCUS 1.2 CSV export of one month (the service's own row builder, `focusFile`).
 *
 * Traffic follows a Zipf law over the registered apps' hosts (a few busy apps, a long tail) plus
 * a share to hosts nobody registered; CloudTrail deploys touch registered functions, creates make
 * unregistered ones. Times span the 24 hours before `start`.
 */
import { once } from 'node:events';
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createGzip } from 'node:zlib';
import { focusFile } from '../../services/app-registry/src/index.js';
import { prng } from './stats.js';

/** Picks index 0…n-1 with probability ∝ 1/(i+1)^s (a precomputed cumulative table, binary search). */
function zipf(n: number, s: number, random: () => number): () => number {
  const cumulative = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i += 1) {
    sum += 1 / (i + 1) ** s;
    cumulative[i] = sum;
  }
  return () => {
    const x = random() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

/**
 * Writes lines to `path` with back-pressure, in chunks of about 256 KiB, through gzip at `gzipLevel`
 * when given; returns the size on disk.
 */
async function writeLines(path: string, lines: Iterable<string>, gzipLevel?: number): Promise<number> {
  mkdirSync(dirname(path), { recursive: true });
  const out = createWriteStream(path);
  const gzip = gzipLevel === undefined ? undefined : createGzip({ level: gzipLevel });
  gzip?.pipe(out);
  const sink = gzip ?? out;
  let buffered: string[] = [];
  let size = 0;
  for (const line of lines) {
    buffered.push(line);
    size += line.length;
    if (size >= 256 * 1024) {
      if (!sink.write(buffered.join(''))) await once(sink, 'drain');
      buffered = [];
      size = 0;
    }
  }
  if (buffered.length > 0) sink.write(buffered.join(''));
  sink.end();
  await once(out, 'close');
  return out.bytesWritten;
}

// --- Discovery sources.

export interface RegisteredApp {
  host: string;
  /** A Lambda ARN the app registered, if any. */
  functionArn: string | null;
}

export interface DiscoveryPlan {
  /** Lines (CloudTrail: records) in all. */
  lines: number;
  /** Shares of the lines: NGINX, Envoy, CloudTrail (the rest). */
  nginxShare: number;
  envoyShare: number;
  /** Lines per rotated access-log file; CloudTrail records per log file. */
  accessLinesPerFile: number;
  cloudTrailRecordsPerFile: number;
  /** Share of the access-log traffic to hosts nobody registered, and how many such hosts. */
  unknownTrafficShare: number;
  unknownHosts: number;
  /** Share of CloudTrail records that are creates or deploys (the rest: read-only calls). */
  cloudTrailChangeShare: number;
}

export const DISCOVERY_PLAN: Omit<DiscoveryPlan, 'lines'> = {
  nginxShare: 0.5,
  envoyShare: 0.35,
  accessLinesPerFile: 500_000,
  cloudTrailRecordsPerFile: 5_000,
  unknownTrafficShare: 0.05,
  unknownHosts: 40,
  cloudTrailChangeShare: 0.03,
};

export interface GeneratedSources {
  files: number;
  bytes: number;
  lines: { nginx: number; envoy: number; cloudtrail: number };
  seconds: number;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number, w = 2) => String(n).padStart(w, '0');
const clfTime = (d: Date) =>
  `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
const PATHS = ['/', '/api/v1/items', '/api/v1/items/42', '/login', '/static/app.js', '/health', '/api/v1/search?q=x'];
const AGENTS = [
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  'python-requests/2.32.3',
  'okhttp/4.12.0',
  'curl/8.5.0',
];
const STATUSES = [200, 200, 200, 200, 200, 200, 304, 201, 204, 302, 404, 500];
const READ_ONLY = [
  ['ec2.amazonaws.com', 'DescribeInstances'],
  ['sts.amazonaws.com', 'AssumeRole'],
  ['sts.amazonaws.com', 'GetCallerIdentity'],
  ['s3.amazonaws.com', 'ListBuckets'],
  ['s3.amazonaws.com', 'GetBucketAcl'],
  ['lambda.amazonaws.com', 'ListFunctions20150331'],
  ['iam.amazonaws.com', 'GetRole'],
  ['kms.amazonaws.com', 'Decrypt'],
  ['logs.amazonaws.com', 'DescribeLogGroups'],
  ['cloudwatch.amazonaws.com', 'GetMetricData'],
] as const;
const USERS = Array.from({ length: 60 }, (_, i) => `dev.user${i}`);

/** Writes the sources under `dir` (`nginx/`, `envoy/`, `cloudtrail/AWSLogs/…`). */
export async function generateDiscoverySources(
  dir: string,
  lines: number,
  apps: RegisteredApp[],
  start: Date,
  plan: Omit<DiscoveryPlan, 'lines'> = DISCOVERY_PLAN,
): Promise<GeneratedSources> {
  if (apps.length === 0) throw new Error('no registered apps to send traffic to');
  const t0 = performance.now();
  const random = prng(0x5eed);
  const pickApp = zipf(apps.length, 1.1, random);
  const unknown = Array.from({ length: plan.unknownHosts }, (_, i) => `shadow-${i}.apps.example.com`);
  const hostOf = () =>
    random() < plan.unknownTrafficShare ? unknown[Math.floor(random() * unknown.length)]! : apps[pickApp()]!.host;
  const from = start.getTime() - 24 * 3_600_000;
  const span = 24 * 3_600_000;
  const pickOf = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  // Pools and per-second caches: formatting each line from scratch would make generating 10
  // million lines take longer than reading them.
  const IPS = Array.from(
    { length: 4096 },
    () => `10.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}.${1 + Math.floor(random() * 254)}`,
  );
  const ip = () => IPS[Math.floor(random() * IPS.length)]!;
  const perSecond = (format: (d: Date) => string) => {
    let second = Number.NaN;
    let text = '';
    return (at: Date) => {
      const s = Math.floor(at.getTime() / 1000);
      if (s !== second) {
        second = s;
        text = format(at);
      }
      return text;
    };
  };
  const clfAt = perSecond(clfTime);
  const isoAt = perSecond((d) => d.toISOString().replace(/\.\d{3}Z$/, ''));

  const nginx = Math.round(lines * plan.nginxShare);
  const envoy = Math.round(lines * plan.envoyShare);
  const cloudtrail = lines - nginx - envoy;
  let files = 0;
  let bytes = 0;

  // Access logs: times increase through each file (a file is one rotation period).
  const accessFiles = async (
    name: string,
    total: number,
    line: (at: Date) => string,
    fileName: (i: number) => string,
  ) => {
    const count = Math.max(1, Math.ceil(total / plan.accessLinesPerFile));
    for (let f = 0; f < count; f += 1) {
      const n = Math.min(plan.accessLinesPerFile, total - f * plan.accessLinesPerFile);
      const fileFrom = from + (span * f) / count;
      const step = span / count / n;
      bytes += await writeLines(
        join(dir, name, fileName(f)),
        (function* () {
          for (let i = 0; i < n; i += 1) yield line(new Date(fileFrom + i * step));
        })(),
        1,
      );
      files += 1;
    }
  };
  await accessFiles(
    'nginx',
    nginx,
    (at) =>
      `${ip()} - - [${clfAt(at)}] "GET ${pickOf(PATHS)} HTTP/1.1" ${pickOf(STATUSES)} ${Math.floor(random() * 20_000)} "-" "${pickOf(AGENTS)}" "${hostOf()}"\n`,
    (f) => `access.log-${pad(f + 1, 3)}.gz`,
  );
  await accessFiles(
    'envoy',
    envoy,
    (at) =>
      `[${isoAt(at)}.${pad(at.getUTCMilliseconds(), 3)}Z] "GET ${pickOf(PATHS)} HTTP/1.1" ${pickOf(STATUSES)} - 0 ${Math.floor(random() * 20_000)} ${1 + Math.floor(random() * 80)} ${Math.floor(random() * 80)} "${ip()}" "${pickOf(AGENTS)}" "${(random() * 1e16).toString(16)}" "${hostOf()}" "10.1.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}:8080"\n`,
    (f) => `envoy-access-${pad(f + 1, 3)}.log.gz`,
  );

  // CloudTrail: S3 log files of `cloudTrailRecordsPerFile` records each.
  const withArn = apps.filter((a) => a.functionArn);
  const ctFiles = Math.max(1, Math.ceil(cloudtrail / plan.cloudTrailRecordsPerFile));
  let eventId = 0;
  const record = (at: Date) => {
    eventId += 1;
    const user = pickOf(USERS);
    const base = {
      eventVersion: '1.08',
      userIdentity: {
        type: 'IAMUser',
        principalId: `AIDA${pad(eventId % 1_000_000, 6)}EXAMPLE`,
        arn: `arn:aws:iam::123456789012:user/${user}`,
        accountId: '123456789012',
        userName: user,
      },
      eventTime: `${isoAt(at)}Z`,
      awsRegion: 'eu-west-1',
      sourceIPAddress: ip(),
      userAgent: 'aws-cli/2.22.0 Python/3.12.6 Linux/6.8 exe/x86_64',
      eventID: `bench-${eventId}`,
      readOnly: true,
      eventType: 'AwsApiCall',
      managementEvent: true,
      recipientAccountId: '123456789012',
    };
    if (random() >= plan.cloudTrailChangeShare) {
      const [eventSource, eventName] = pickOf(READ_ONLY);
      return { ...base, eventSource, eventName, requestParameters: null, responseElements: null };
    }
    const deploy = withArn.length > 0 && random() < 0.6;
    if (deploy) {
      const arn = withArn[pickApp() % withArn.length]!.functionArn!;
      const functionName = arn.slice(arn.lastIndexOf(':') + 1);
      return {
        ...base,
        readOnly: false,
        eventSource: 'lambda.amazonaws.com',
        eventName: 'UpdateFunctionCode20150331v2',
        requestParameters: { functionName, publish: true },
        responseElements: { functionName, functionArn: arn, runtime: 'nodejs22.x' },
      };
    }
    if (random() < 0.5) {
      const bucketName = `shadow-bucket-${Math.floor(random() * 300)}`;
      return {
        ...base,
        readOnly: false,
        eventSource: 's3.amazonaws.com',
        eventName: 'CreateBucket',
        requestParameters: { bucketName, Host: `${bucketName}.s3.eu-west-1.amazonaws.com` },
        responseElements: null,
      };
    }
    const functionName = `shadow-fn-${Math.floor(random() * 500)}`;
    return {
      ...base,
      readOnly: false,
      eventSource: 'lambda.amazonaws.com',
      eventName: 'CreateFunction20150331',
      requestParameters: { functionName, runtime: 'python3.12', handler: 'app.handler' },
      responseElements: {
        functionName,
        functionArn: `arn:aws:lambda:eu-west-1:123456789012:function:${functionName}`,
        runtime: 'python3.12',
      },
    };
  };
  for (let f = 0; f < ctFiles; f += 1) {
    const n = Math.min(plan.cloudTrailRecordsPerFile, cloudtrail - f * plan.cloudTrailRecordsPerFile);
    const fileFrom = from + (span * f) / ctFiles;
    const step = span / ctFiles / n;
    const day = new Date(fileFrom);
    const stamp = `${day.getUTCFullYear()}${pad(day.getUTCMonth() + 1)}${pad(day.getUTCDate())}T${pad(day.getUTCHours())}${pad(day.getUTCMinutes())}Z`;
    const path = join(
      dir,
      'cloudtrail',
      'AWSLogs',
      '123456789012',
      'CloudTrail',
      'eu-west-1',
      String(day.getUTCFullYear()),
      pad(day.getUTCMonth() + 1),
      pad(day.getUTCDate()),
      `123456789012_CloudTrail_eu-west-1_${stamp}_bench${pad(f, 5)}.json.gz`,
    );
    bytes += await writeLines(
      path,
      (function* () {
        yield '{"Records":[';
        for (let i = 0; i < n; i += 1)
          yield `${i > 0 ? ',' : ''}${JSON.stringify(record(new Date(fileFrom + i * step)))}`;
        yield ']}\n';
      })(),
      1,
    );
    files += 1;
  }
  return { files, bytes, lines: { nginx, envoy, cloudtrail }, seconds: (performance.now() - t0) / 1000 };
}

// --- FOCUS 1.2 cost export.

export interface CostApp {
  id: string;
  functionArn: string | null;
}

export interface GeneratedCostFile {
  rows: number;
  bytes: number;
  /** Sum of BilledCost in cents (every row's cost has two decimals), to compare with the import's total. */
  totalCents: number;
  days: number;
  seconds: number;
}

const CATEGORIES = [
  ['Compute', 'AWS Lambda'],
  ['Storage', 'Amazon Simple Storage Service'],
  ['Databases', 'Amazon DynamoDB'],
  ['Networking', 'Amazon CloudFront'],
  ['Compute', 'Amazon Elastic Container Service'],
] as const;

/**
 * One month of a FOCUS 1.2 export (`month` = YYYY-MM, 28 days) with `rows` rows: 60% for
 * resources of registered apps (by their ARN, or an `app-id` tag with the app id), the rest for
 * 500 instances nobody tagged; each resource in one of 8 accounts and one of 5 services.
 */
export async function generateFocusFile(
  path: string,
  rows: number,
  apps: CostApp[],
  month: string,
): Promise<GeneratedCostFile> {
  const t0 = performance.now();
  const random = prng(0xc057);
  const pickApp = zipf(Math.max(1, apps.length), 1.05, random);
  const days = 28;
  let totalCents = 0;
  const header = focusFile([]).trimEnd();
  const lines = function* () {
    yield `${header}\n`;
    for (let i = 0; i < rows; i += 1) {
      const day = `${month}-${pad(1 + (i % days))}`;
      const cents = 1 + Math.floor(random() * 5_000);
      totalCents += cents;
      const cost = `${Math.floor(cents / 100)}.${pad(cents % 100)}`;
      const u = random();
      const appIndex = apps.length > 0 && u < 0.6 ? pickApp() : -1;
      const app = apps[appIndex];
      // A resource lives in one account and is one service: both follow from it.
      const instance = Math.floor(random() * 500);
      const which = app ? appIndex : instance;
      const [serviceCategory, serviceName] = CATEGORIES[which % CATEGORIES.length]!;
      const account = `1111222233${pad(which % 8, 2)}`;
      let row: string;
      if (app && u < 0.35 && app.functionArn) {
        row = focusFile([{ day, cost, resourceId: app.functionArn, serviceCategory, serviceName, account }]);
      } else if (app) {
        row = focusFile([
          {
            day,
            cost,
            resourceId: `arn:aws:s3:::data-${app.id.slice(4, 12)}`,
            tags: { 'app-id': app.id, env: 'prod' },
            serviceCategory,
            serviceName,
            account,
          },
        ]);
      } else {
        row = focusFile([
          {
            day,
            cost,
            resourceId: `arn:aws:ec2:eu-west-1:123456789012:instance/i-${instance.toString(16).padStart(8, '0')}`,
            serviceCategory,
            serviceName,
            account,
          },
        ]);
      }
      // focusFile writes the header first: the row is its second line.
      yield row.slice(header.length + 1);
    }
  };
  const bytes = await writeLines(path, lines());
  return { rows, bytes, totalCents, days, seconds: (performance.now() - t0) / 1000 };
}
