import { randomBytes } from 'node:crypto';
import { type FakeAwsHealth, startFakeAwsHealth } from '@micro-oncall/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStatusMapper, type TestStatusMapper } from './support.js';

// Generated per run: no secret-shaped literal in the repository.
const API_KEY = `eventbridge-${randomBytes(16).toString('hex')}`;
const BASIC_PASSWORD = `basic-${randomBytes(16).toString('hex')}`;
const ACCOUNT = '123456789012';

describe('status-mapper with AWS Health', () => {
  let statusMapper: TestStatusMapper;
  let health: FakeAwsHealth;

  const polled = async () => (await statusMapper.sources()).find((s) => s.id === 'aws-polled')!;
  /** Runs the poll-pages job (every polled source: here the polled AWS source) and waits for it; then that source. */
  const pollNow = async () => (await statusMapper.pollNow()).find((s) => s.id === 'aws-polled')!;

  const deliver = (body: unknown, headers: Record<string, string> = { 'x-api-key': API_KEY }) =>
    fetch(`${statusMapper.url}/status/v1/webhooks/aws-health`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const basic = (password = BASIC_PASSWORD) => ({
    authorization: `Basic ${Buffer.from(`eventbridge:${password}`).toString('base64')}`,
  });

  beforeAll(async () => {
    // One event per DescribeEvents page: two open events take two pages.
    health = await startFakeAwsHealth({ pageSize: 1 });
    statusMapper = await startTestStatusMapper('status-mapper-aws', {
      // The Health API keys as a Secret would mount them.
      sources: (files) => `pages:
  - id: aws
    kind: aws-health
    services: [EC2, RDS]
    regions: [eu-west-1]
    accounts: ["${ACCOUNT}"]
  - id: aws-polled
    kind: aws-health
    provider: AWS (Health API)
    services: [EC2]
    regions: [eu-west-1]
    accounts: ["210987654321"]
    describeEvents:
      region: us-east-1
      endpoint: ${health.url}
      intervalSeconds: 3600
      credentials:
        accessKeyIdFile: ${files.write('access-key-id', `${health.credentials.accessKeyId}\n`)}
        secretAccessKeyFile: ${files.write('secret-access-key', `${health.credentials.secretAccessKey}\n`)}
`,
      mapping: `mappings:
  ec2-ireland:
    page: aws
    aws: { service: EC2, region: eu-west-1 }
    services: [payments-api]
  rds-ireland-a:
    page: aws
    aws: { service: RDS, region: eu-west-1, availabilityZone: eu-west-1a }
    services: [ledger]
  polled-ec2:
    page: aws-polled
    aws: { service: EC2, region: eu-west-1 }
    services: [checkout]
`,
      env: {
        POLL_TIMEOUT_MS: '2000',
        POLL_STALE_AFTER_FAILURES: '3',
        AWS_HEALTH_WEBHOOK_API_KEY: API_KEY,
        AWS_HEALTH_WEBHOOK_BASIC_USERNAME: 'eventbridge',
        AWS_HEALTH_WEBHOOK_BASIC_PASSWORD: BASIC_PASSWORD,
      },
    });
    // Start-up polls the due sources: wait for the polled one's first (empty) answer.
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && (await polled()).lastSuccessAt === null) {
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  afterAll(async () => {
    await statusMapper?.stop();
    await health?.stop();
  });

  it('shows the watched AWS services operational before AWS has said anything, publishing nothing', async () => {
    expect((await polled()).failing).toBeNull();
    const services = await statusMapper.internal();
    expect(services.map((s) => [s.service, s.status])).toEqual([
      ['checkout', 'operational'],
      ['ledger', 'operational'],
      ['payments-api', 'operational'],
    ]);
    expect((await statusMapper.serviceStatus('ledger')).components.map((c) => c.key)).toEqual(['aws/RDS/eu-west-1']);
    expect(await statusMapper.events(0)).toHaveLength(0);
  });

  describe('EventBridge deliveries', () => {
    let issue: ReturnType<FakeAwsHealth['addEvent']>;
    let openDelivery: Record<string, unknown>;

    it('degrades EC2 in eu-west-1 on an open issue and publishes it once, also when redelivered', async () => {
      issue = health.addEvent({
        service: 'EC2',
        eventTypeCode: 'AWS_EC2_OPERATIONAL_ISSUE',
        eventTypeCategory: 'issue',
        region: 'eu-west-1',
        description: 'We are investigating increased API error rates and latencies in the EU-WEST-1 Region.',
      });
      openDelivery = health.eventBridgePayload(issue.arn, { account: ACCOUNT });
      const res = await deliver(openDelivery);
      expect(res.status).toBe(202);
      expect(await res.json()).toEqual({ accepted: true, events: 1 });
      // EventBridge delivers at least once: the same delivery again changes nothing.
      const again = await deliver(openDelivery);
      expect(await again.json()).toEqual({ accepted: true, events: 0 });

      const seen = await statusMapper.events(1);
      expect(seen).toHaveLength(1);
      const incidentId = `eu-west-1/${issue.arn.split('/').at(-1)}`;
      expect(seen[0]).toMatchObject({
        subject: 'aws/EC2/eu-west-1',
        type: 'io.microoncall.provider-status.degraded_performance',
        data: {
          provider: 'AWS',
          page: { id: 'aws' },
          component: { key: 'aws/EC2/eu-west-1', name: 'EC2 eu-west-1', group: { id: 'eu-west-1', name: 'eu-west-1' } },
          status: { from: 'operational', to: 'degraded_performance', providerStatus: 'issue open', stale: null },
          incidents: [{ id: incidentId, name: 'EC2 operational issue (eu-west-1)', status: 'open', impact: 'issue' }],
          services: ['payments-api'],
          source: 'aws',
        },
      });

      const payments = await statusMapper.serviceStatus('payments-api');
      expect(payments).toMatchObject({
        status: 'degraded_performance',
        since: seen[0]!.data.observedAt,
        components: [{ key: 'aws/EC2/eu-west-1', status: 'degraded_performance' }],
        incidents: [
          {
            id: incidentId,
            status: 'open',
            latestUpdate: 'We are investigating increased API error rates and latencies in the EU-WEST-1 Region.',
            components: ['aws/EC2/eu-west-1'],
          },
        ],
      });
      expect((await statusMapper.internal())[0]!.service).toBe('payments-api');
    });

    it('refuses a bad credential (401) and a malformed payload (400, naming the field), storing nothing', async () => {
      const rds = health.addEvent({
        service: 'RDS',
        eventTypeCode: 'AWS_RDS_OPERATIONAL_ISSUE',
        eventTypeCategory: 'issue',
        region: 'eu-west-1',
        description: 'Connectivity issues',
      });
      const payload = health.eventBridgePayload(rds.arn, { account: ACCOUNT });
      expect((await deliver(payload, { 'x-api-key': `${API_KEY}x` })).status).toBe(401);
      expect((await deliver(payload, {})).status).toBe(401);
      expect((await deliver(payload, basic('wrong-password-wrong-password'))).status).toBe(401);

      const broken = structuredClone(payload) as { detail: Record<string, unknown> };
      broken.detail.eventArn = 'arn:aws:ec2:eu-west-1::instance/i-1';
      const bad = await deliver(broken);
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/detail\.eventArn/);
      expect((await deliver('{"detail-type": "AWS Health Event", "detail": {')).status).toBe(400);
      // EventBridge events are at most 256 KB.
      expect((await deliver(JSON.stringify({ ...payload, resources: ['r'.repeat(300_000)] }))).status).toBe(413);
      const noStatus = structuredClone(payload) as { detail: Record<string, unknown> };
      delete noStatus.detail.statusCode;
      expect((await deliver(noStatus)).status).toBe(400);
      // An account no aws-health source takes.
      expect((await deliver({ ...payload, account: '999999999999' })).status).toBe(400);

      const rdsNow = (await statusMapper.components()).find((c) => c.key === 'aws/RDS/eu-west-1');
      expect(rdsNow?.status).toBe('operational');
      expect((await statusMapper.serviceStatus('ledger')).incidents).toEqual([]);
      expect(await statusMapper.events(1)).toHaveLength(1);
    });

    it('accepts and ignores a service no source watches', async () => {
      const s3 = health.addEvent({
        service: 'S3',
        eventTypeCode: 'AWS_S3_OPERATIONAL_ISSUE',
        eventTypeCategory: 'issue',
        region: 'eu-west-1',
        description: 'Elevated error rates',
      });
      const res = await deliver(health.eventBridgePayload(s3.arn, { account: ACCOUNT }), basic());
      expect(res.status).toBe(202);
      expect(await res.json()).toMatchObject({ accepted: true, events: 0, ignored: expect.stringMatching(/S3/) });
      expect((await statusMapper.components()).some((c) => c.key.startsWith('aws/S3/'))).toBe(false);
    });

    it('brings EC2 back to operational on the closed event (Basic credentials), and ignores the late open one', async () => {
      health.closeEvent(issue.arn, 'The issue has been resolved and the service is operating normally.');
      const res = await deliver(health.eventBridgePayload(issue.arn, { account: ACCOUNT }), basic());
      expect(await res.json()).toEqual({ accepted: true, events: 1 });
      // The open delivery arriving again, late: older than what we hold, so nothing happens.
      expect(await (await deliver(openDelivery)).json()).toEqual({ accepted: true, events: 0 });

      const seen = await statusMapper.events(2);
      expect(seen).toHaveLength(2);
      // One key's events keep their order (one partition).
      expect(seen.map((e) => [e.subject, e.data.status.to])).toEqual([
        ['aws/EC2/eu-west-1', 'degraded_performance'],
        ['aws/EC2/eu-west-1', 'operational'],
      ]);
      expect(seen[1]!.data).toMatchObject({
        component: { key: 'aws/EC2/eu-west-1' },
        status: { from: 'degraded_performance', to: 'operational', providerStatus: null },
        incidents: [],
        source: 'aws',
      });
      expect(await statusMapper.serviceStatus('payments-api')).toMatchObject({ status: 'operational', incidents: [] });
    });
  });

  describe('DescribeEvents polling', () => {
    it('reads every page (nextToken) through a throttling answer, and publishes what changed once', async () => {
      const issue = health.addEvent({
        service: 'EC2',
        eventTypeCode: 'AWS_EC2_OPERATIONAL_ISSUE',
        eventTypeCategory: 'issue',
        region: 'eu-west-1',
        description: 'Increased launch failures for EC2 instances.',
      });
      health.addEvent({
        service: 'EC2',
        eventTypeCode: 'AWS_EC2_MAINTENANCE_SCHEDULED',
        eventTypeCategory: 'scheduledChange',
        region: 'eu-west-1',
        availabilityZone: 'eu-west-1b',
        description: 'Network maintenance in one zone.',
      });
      const asked = health.requests.length;
      health.throttleNext();
      const source = await pollNow();
      expect(source).toMatchObject({ failing: null, staleSince: null });
      await pollNow(); // nothing changed: nothing more is published

      const calls = health.requests.slice(asked);
      expect(calls[0]).toMatchObject({ status: 400, headers: { 'x-amz-target': 'AWSHealth_20160804.DescribeEvents' } });
      const open = calls.filter(
        (c) =>
          c.status === 200 &&
          (c.body as { filter?: { eventStatusCodes?: string[] } }).filter?.eventStatusCodes?.[0] === 'open',
      );
      // Two open events, one a page, each poll: the second page asked with the first's nextToken.
      expect(open.map((c) => typeof (c.body as { nextToken?: string }).nextToken)).toEqual([
        'undefined',
        'string',
        'undefined',
        'string',
      ]);
      expect(calls.some((c) => c.headers['x-amz-target'] === 'AWSHealth_20160804.DescribeEventDetails')).toBe(true);

      const all = await statusMapper.events(4);
      expect(all).toHaveLength(4);
      // Across keys (partitions) events have no order: pick the polled source's.
      const seen = all.filter((e) => e.data.page.id === 'aws-polled');
      expect(seen).toHaveLength(2);
      const byKey = Object.fromEntries(seen.map((e) => [e.subject, e.data]));
      expect(byKey['aws-polled/EC2/eu-west-1']).toMatchObject({
        provider: 'AWS (Health API)',
        status: { from: 'operational', to: 'degraded_performance' },
        services: ['checkout'],
        source: 'aws',
      });
      expect(byKey['aws-polled/EC2/eu-west-1/eu-west-1b']).toMatchObject({
        component: { name: 'EC2 eu-west-1b', group: { id: 'eu-west-1' } },
        status: { from: null, to: 'under_maintenance', providerStatus: 'scheduledChange open' },
        services: ['checkout'],
      });
      const checkout = await statusMapper.serviceStatus('checkout');
      expect(checkout.status).toBe('degraded_performance');
      expect(checkout.incidents.map((i) => i.latestUpdate).sort()).toEqual([
        'Increased launch failures for EC2 instances.',
        'Network maintenance in one zone.',
      ]);

      health.closeEvent(issue.arn);
      await pollNow();
      const recovered = await statusMapper.events(5);
      expect(recovered).toHaveLength(5);
      expect(recovered.filter((e) => e.subject === 'aws-polled/EC2/eu-west-1').map((e) => e.data.status.to)).toEqual([
        'degraded_performance',
        'operational',
      ]);
      // The zone's maintenance is still on.
      expect(await statusMapper.serviceStatus('checkout')).toMatchObject({ status: 'under_maintenance' });
    });

    it('marks the polled source failing, then stale after 3 failed polls, and back when the API answers', async () => {
      // Three polls, each one DescribeEvents the SDK tries three times.
      health.failNext({ status: 500, times: 9 });
      let source = await pollNow();
      expect(source.failing).toMatchObject({
        consecutiveFailures: 1,
        reason: expect.stringMatching(/InternalFailure/),
      });
      source = await pollNow();
      expect(source.staleSince).toBeNull();
      source = await pollNow();
      expect(source.failing).toMatchObject({ consecutiveFailures: 3 });
      expect(source.staleSince).toBe(source.failing!.since);

      const seen = await statusMapper.events(7);
      expect(seen).toHaveLength(7);
      const stale = seen.filter((e) => e.data.status.to === 'unknown');
      expect(stale.map((e) => [e.subject, e.data.status.from, e.data.status.to]).sort()).toEqual([
        ['aws-polled/EC2/eu-west-1', 'operational', 'unknown'],
        ['aws-polled/EC2/eu-west-1/eu-west-1b', 'under_maintenance', 'unknown'],
      ]);
      expect(stale[0]!.data).toMatchObject({
        source: 'aws',
        status: { stale: { since: source.staleSince, reason: expect.stringMatching(/InternalFailure/) } },
      });
      const checkout = await statusMapper.serviceStatus('checkout');
      expect(checkout.status).toBe('unknown');
      expect(checkout.components.find((c) => c.key === 'aws-polled/EC2/eu-west-1')!.stale).toMatchObject({
        since: source.staleSince,
        lastKnown: 'operational',
      });
      // The EventBridge-fed source is not polled, so it never goes stale.
      expect((await statusMapper.serviceStatus('payments-api')).status).toBe('operational');

      source = await pollNow();
      expect(source).toMatchObject({ failing: null, staleSince: null });
      expect(await statusMapper.serviceStatus('checkout')).toMatchObject({ status: 'under_maintenance' });
      expect(await statusMapper.events(9)).toHaveLength(9);
    });
  });
});
