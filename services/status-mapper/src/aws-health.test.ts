import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { temporaryDirectories } from '@micro-oncall/test-kit/temp';
import { describe, expect, it } from 'vitest';
import {
  awsComponentOf,
  awsRuleMatches,
  conditionOf,
  fromDescribedEvent,
  fromEventBridge,
  HealthEventBridgeEvent,
  healthIncidentId,
  healthIncidentName,
} from './aws-health.js';
import { Mapping } from './config/mapping.js';
import { loadSources } from './config/sources.js';

const ARN =
  'arn:aws:health:eu-west-1::event/EC2/AWS_EC2_OPERATIONAL_ISSUE/AWS_EC2_OPERATIONAL_ISSUE_7f35c8ae-af1f-54e6-a526-d0179ed6d68f';

/** The shape of AWS's own sample "AWS Health Event" (a public EC2 issue). */
const delivery = (detail: Record<string, unknown> = {}) => ({
  version: '0',
  id: '7bf73129-1428-4cd3-a780-95db273d1602',
  'detail-type': 'AWS Health Event',
  source: 'aws.health',
  account: '123456789012',
  time: '2023-01-27T01:43:21Z',
  region: 'eu-west-1',
  resources: [],
  detail: {
    eventArn: ARN,
    service: 'EC2',
    eventTypeCode: 'AWS_EC2_OPERATIONAL_ISSUE',
    eventTypeCategory: 'issue',
    eventScopeCode: 'PUBLIC',
    communicationId: '01b0993207d81a09dcd552ebd1e633e36cf1f09a-1',
    startTime: 'Fri, 27 Jan 2023 01:43:21 GMT',
    lastUpdatedTime: 'Fri, 27 Jan 2023 01:43:21 GMT',
    statusCode: 'open',
    eventRegion: 'eu-west-1',
    eventDescription: [{ language: 'en_US', latestDescription: 'We are investigating increased API error rates.' }],
    affectedEntities: [],
    page: '1',
    totalPages: '1',
    affectedAccount: '123456789012',
    ...detail,
  },
});

describe(conditionOf.name, () => {
  it('reads open issues as degraded, open scheduled changes as maintenance, and anything closed as operational', () => {
    expect(conditionOf('issue', 'open')).toBe('degraded_performance');
    expect(conditionOf('investigation', 'open')).toBe('degraded_performance');
    expect(conditionOf('scheduledChange', 'open')).toBe('under_maintenance');
    expect(conditionOf('scheduledChange', 'upcoming')).toBe('operational');
    expect(conditionOf('accountNotification', 'open')).toBe('operational');
    expect(conditionOf('issue', 'closed')).toBe('operational');
    expect(conditionOf('somethingNew', 'open')).toBe('unknown');
    expect(conditionOf('issue', 'paused')).toBe('unknown');
  });
});

describe(fromEventBridge.name, () => {
  it('reads the documented delivery: impacted region, RFC 1123 times, the English description', () => {
    const parsed = HealthEventBridgeEvent.parse(delivery());
    expect(fromEventBridge(parsed)).toEqual({
      account: '123456789012',
      event: {
        arn: ARN,
        service: 'EC2',
        eventTypeCode: 'AWS_EC2_OPERATIONAL_ISSUE',
        category: 'issue',
        scope: 'PUBLIC',
        region: 'eu-west-1',
        availabilityZone: null,
        statusCode: 'open',
        startTime: '2023-01-27T01:43:21.000Z',
        endTime: null,
        lastUpdatedTime: '2023-01-27T01:43:21.000Z',
        description: 'We are investigating increased API error rates.',
      },
    });
  });

  it('names the field that is wrong', () => {
    const issues = (body: unknown) =>
      HealthEventBridgeEvent.safeParse(body).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(issues({ ...delivery(), 'detail-type': 'EC2 Instance State-change Notification' })).toEqual([
      'detail-type: must be "AWS Health Event"',
    ]);
    expect(issues(delivery({ eventArn: 'not-an-arn' }))).toEqual([expect.stringMatching(/^detail\.eventArn: /)]);
    expect(issues(delivery({ startTime: 'yesterday-ish' }))).toEqual([expect.stringMatching(/^detail\.startTime: /)]);
  });
});

describe('AWS components and incidents', () => {
  it('keys components by service, region and zone, and incidents by region and event id', () => {
    expect(awsComponentOf({ service: 'ec2', region: 'eu-west-1', availabilityZone: null })).toEqual({
      id: 'EC2/eu-west-1',
      name: 'EC2 eu-west-1',
      group: { id: 'eu-west-1', name: 'eu-west-1' },
    });
    expect(awsComponentOf({ service: 'RDS', region: 'eu-west-1', availabilityZone: 'eu-west-1a' }).id).toBe(
      'RDS/eu-west-1/eu-west-1a',
    );
    expect(healthIncidentId(ARN)).toBe('eu-west-1/AWS_EC2_OPERATIONAL_ISSUE_7f35c8ae-af1f-54e6-a526-d0179ed6d68f');
    const long = `arn:aws:health:ap-southeast-2::event/ELASTICLOADBALANCING/${'X'.repeat(80)}/${'X'.repeat(130)}_1`;
    expect(healthIncidentId(long)).toMatch(/^ap-southeast-2\/[0-9a-f]{64}$/);
    expect(
      healthIncidentName({
        service: 'EC2',
        eventTypeCode: 'AWS_EC2_OPERATIONAL_ISSUE',
        region: 'eu-west-1',
        availabilityZone: null,
      }),
    ).toBe('EC2 operational issue (eu-west-1)');
  });

  it('reads a DescribeEvents event (epoch times as Dates), refusing one without an ARN', () => {
    const event = fromDescribedEvent(
      {
        arn: ARN,
        service: 'EC2',
        eventTypeCode: 'AWS_EC2_OPERATIONAL_ISSUE',
        eventTypeCategory: 'issue',
        region: 'eu-west-1',
        availabilityZone: 'eu-west-1b',
        startTime: new Date(1_674_783_801_000),
        lastUpdatedTime: new Date(1_674_783_900_500),
        statusCode: 'open',
      },
      null,
    );
    expect(event).toMatchObject({ availabilityZone: 'eu-west-1b', lastUpdatedTime: '2023-01-27T01:45:00.500Z' });
    expect(fromDescribedEvent({ service: 'EC2', region: 'eu-west-1' }, null)).toBeNull();
  });

  it('matches aws mapping rules by service, region and zone (a region-wide component reaches every zone)', () => {
    const rule = { service: 'ec2', region: 'eu-west-1', availabilityZone: 'eu-west-1a' };
    expect(awsRuleMatches(rule, 'EC2/eu-west-1')).toBe(true);
    expect(awsRuleMatches(rule, 'EC2/eu-west-1/eu-west-1a')).toBe(true);
    expect(awsRuleMatches(rule, 'EC2/eu-west-1/eu-west-1b')).toBe(false);
    expect(awsRuleMatches(rule, 'RDS/eu-west-1')).toBe(false);
    expect(awsRuleMatches({ service: 'EC2' }, 'EC2/us-east-1/use1-az1')).toBe(true);
    expect(awsRuleMatches({ service: 'EC2' }, 'yh6f0r4529hb')).toBe(false);
  });
});

describe('aws-health configuration', () => {
  const dir = temporaryDirectories()('aws-health-config-');
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const problems = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      return (e as { problems: string[] }).problems;
    }
    return [];
  };

  it('reads an aws-health source with defaults, beside a Statuspage page', () => {
    const path = file(
      'sources.yml',
      `pages:
  - id: github
    provider: GitHub
    url: https://kctbh9vrtdwd.statuspage.io/api/v2/summary.json
  - id: aws
    kind: aws-health
    services: [EC2, RDS]
    regions: [eu-west-1]
    describeEvents: {}
`,
    );
    expect(loadSources(path)[1]).toEqual({
      id: 'aws',
      kind: 'aws-health',
      provider: 'AWS',
      services: ['EC2', 'RDS'],
      regions: ['eu-west-1'],
      describeEvents: { region: 'us-east-1', intervalSeconds: 60, jitterSeconds: 10 },
    });
  });

  it('names the line of a bad region, an unknown kind and a relative credentials file', () => {
    const path = file(
      'bad-sources.yml',
      `pages:
  - id: aws
    kind: aws-health
    services: [EC2]
    regions: [Ireland]
    describeEvents:
      credentials:
        accessKeyIdFile: keys/id
        secretAccessKeyFile: /run/secrets/key
  - id: other
    kind: pingdom
    provider: X
`,
    );
    expect(problems(() => loadSources(path))).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^line 5: pages\.0\.regions\.0: an AWS region/),
        expect.stringMatching(/^line 8: pages\.0\.describeEvents\.credentials\.accessKeyIdFile: use an absolute path/),
        expect.stringMatching(/^line 11: pages\.1\.kind: kind must be statuspage \(the default\) or aws-health/),
      ]),
    );
  });

  it('reads aws mapping rules and names the line of a zone outside its region', () => {
    const good = Mapping.fromFile(
      file(
        'mapping.yml',
        'mappings:\n  ec2:\n    page: aws\n    aws: { service: EC2, region: eu-west-1 }\n    services: [payments-api]\n',
      ),
    );
    expect(
      good.servicesFor({ pageId: 'aws', id: 'EC2/eu-west-1/eu-west-1c', name: 'EC2 eu-west-1c', group: null }),
    ).toEqual(['payments-api']);
    const bad = file(
      'bad-mapping.yml',
      'mappings:\n  rds:\n    page: aws\n    aws:\n      service: RDS\n      region: eu-west-1\n      availabilityZone: us-east-1a\n    services: [db]\n  both:\n    page: aws\n    component: X\n    aws: { service: EC2 }\n    services: [db]\n',
    );
    expect(problems(() => Mapping.fromFile(bad))).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^line 7: mappings\.rds\.aws\.availabilityZone: an availabilityZone needs its region/),
        expect.stringMatching(/mappings\.both: give exactly one of component, group, namePattern, aws/),
      ]),
    );
  });
});
