import { z } from 'zod';
import { ConfigFileError, readYamlFile } from './yaml.js';

/*
 * The sources file: which provider status sources to watch. Adding a Statuspage page is one entry:
 *
 *   pages:
 *     - id: cloudflare
 *       provider: Cloudflare
 *       url: https://yh6f0r4529hb.statuspage.io/api/v2/summary.json
 *       intervalSeconds: 60      # optional, >= 60 (a status page changes in minutes; more often only costs the provider)
 *       jitterSeconds: 10        # optional, added at random to each next poll
 *
 * AWS Health is a source of its own kind (its components are `<service>/<region>[/<zone>]`,
 * fed by EventBridge deliveries and, with `describeEvents`, polled through the Health API):
 *
 *     - id: aws
 *       kind: aws-health
 *       provider: AWS               # optional (default AWS)
 *       services: [EC2, RDS]        # Health `service` codes watched
 *       regions: [eu-west-1]        # impacted regions watched (`global` for global services)
 *       accounts: ["111122223333"]  # optional: EventBridge deliveries accepted for these accounts only
 *       describeEvents:             # optional: poll DescribeEvents (Business, Enterprise On-Ramp or Enterprise Support)
 *         region: us-east-1         # the Health API's endpoint region (us-east-2 when AWS fails over)
 *         endpoint: https://…       # optional override (a VPC endpoint; tests)
 *         intervalSeconds: 60
 *         jitterSeconds: 10
 *         credentials:              # optional: files holding the keys; default: the SDK's default chain
 *           accessKeyIdFile: /var/run/secrets/aws/access-key-id
 *           secretAccessKeyFile: /var/run/secrets/aws/secret-access-key
 *           sessionTokenFile: /var/run/secrets/aws/session-token   # optional
 */

export const SourceId = z
  .string()
  .regex(/^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/, 'use lowercase letters, digits and inner dashes (at most 64)');

const IntervalSeconds = z
  .number()
  .int()
  .min(60, 'at least 60: a status page changes in minutes, and polling it more often only adds load on the provider')
  .max(86_400)
  .default(60);
const JitterSeconds = z.number().int().min(0).max(600).default(10);

export const PageSource = z.strictObject({
  id: SourceId,
  /** `statuspage` (the default): an Atlassian Statuspage v2 public page. */
  kind: z.literal('statuspage').optional(),
  /** Display name of the provider (`Cloudflare`). */
  provider: z.string().min(1).max(128),
  /** The page's Statuspage v2 `summary.json` (http(s), ends with /api/v2/summary.json). */
  url: z
    .url({ protocol: /^https?$/, message: 'must be an http(s) URL' })
    .refine((u) => new URL(u).pathname.endsWith('/api/v2/summary.json'), 'must end with /api/v2/summary.json'),
  intervalSeconds: IntervalSeconds,
  jitterSeconds: JitterSeconds,
});
export type PageSource = z.output<typeof PageSource>;

/** An AWS Health `service` code as Health spells it (`EC2`, `S3`, `ELASTICLOADBALANCING`). */
export const AwsServiceCode = z
  .string()
  .regex(/^[A-Za-z0-9_-]{2,30}$/, 'an AWS Health service code such as EC2 or RDS (letters, digits, _ or -)');
/** An AWS region (`eu-west-1`), or `global` for the global services' events. */
export const AwsRegion = z
  .string()
  .regex(/^(?:global|[a-z]{2}(?:-[a-z]+)+-\d{1,2})$/, 'an AWS region such as eu-west-1 (or global)');
/** An availability zone name (`eu-west-1a`), as AWS Health reports it. */
export const AwsAvailabilityZone = z
  .string()
  .regex(/^[a-z]{2}-[0-9a-z-]{4,16}$/, 'an availability zone such as eu-west-1a');

const SecretFile = z.string().min(1).startsWith('/', 'use an absolute path (a mounted secret file)');

export const AwsHealthSource = z
  .strictObject({
    id: SourceId,
    kind: z.literal('aws-health'),
    provider: z.string().min(1).max(128).default('AWS'),
    services: z.array(AwsServiceCode).min(1, 'name at least one AWS service').max(100),
    regions: z.array(AwsRegion).min(1, 'name at least one region').max(50),
    accounts: z
      .array(z.string().regex(/^\d{12}$/, 'an AWS account id (12 digits)'))
      .min(1)
      .max(1000)
      .optional(),
    describeEvents: z
      .strictObject({
        region: z
          .string()
          .regex(/^(?:aws-global|[a-z]{2}(?:-[a-z]+)+-\d{1,2})$/, 'an AWS region such as us-east-1')
          .default('us-east-1'),
        endpoint: z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }).optional(),
        intervalSeconds: IntervalSeconds,
        jitterSeconds: JitterSeconds,
        credentials: z
          .strictObject({
            accessKeyIdFile: SecretFile,
            secretAccessKeyFile: SecretFile,
            sessionTokenFile: SecretFile.optional(),
          })
          .optional(),
      })
      .optional(),
  })
  // The Health API's event filters take at most 10 values a list (its API reference).
  .refine((s) => !s.describeEvents || s.services.length <= 10, {
    message: 'DescribeEvents filters take at most 10 services: split the source in two',
    path: ['services'],
  })
  .refine((s) => !s.describeEvents || s.regions.length <= 10, {
    message: 'DescribeEvents filters take at most 10 regions: split the source in two',
    path: ['regions'],
  });
export type AwsHealthSource = z.output<typeof AwsHealthSource>;

export type Source = PageSource | AwsHealthSource;

export const isAwsHealth = (source: Source): source is AwsHealthSource => source.kind === 'aws-health';

/** The Health API endpoint a source polls (the SDK's own for its region unless overridden). */
export function awsHealthEndpoint(source: AwsHealthSource): string | null {
  const api = source.describeEvents;
  if (!api) return null;
  if (api.endpoint) return api.endpoint;
  return api.region === 'aws-global'
    ? 'https://global.health.amazonaws.com/'
    : `https://health.${api.region}.amazonaws.com/`;
}

export const SourcesFile = z.strictObject({
  pages: z
    .array(
      z.discriminatedUnion('kind', [PageSource, AwsHealthSource], {
        error: 'kind must be statuspage (the default) or aws-health',
      }),
    )
    .max(5000)
    .default([]),
});

/** Reads and validates the sources file; duplicate ids are an error naming both. */
export function loadSources(file: string): Source[] {
  const parsed = readYamlFile(SourcesFile, file);
  const seen = new Map<string, number>();
  const problems: string[] = [];
  parsed.pages.forEach((page, index) => {
    const first = seen.get(page.id);
    if (first !== undefined) problems.push(`pages.${index}.id: ${page.id} is already used by pages.${first}`);
    else seen.set(page.id, index);
  });
  if (problems.length > 0) throw new ConfigFileError(file, problems);
  return parsed.pages;
}
