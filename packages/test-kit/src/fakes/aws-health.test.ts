import { DescribeEventDetailsCommand, DescribeEventsCommand, HealthClient } from '@aws-sdk/client-health';
import { afterEach, describe, expect, it } from 'vitest';
import { type FakeAwsHealth, startFakeAwsHealth } from './aws-health.js';

describe(startFakeAwsHealth.name, () => {
  let fake: FakeAwsHealth | undefined;
  afterEach(async () => {
    await fake?.stop();
  });

  const client = (f: FakeAwsHealth, credentials = f.credentials) =>
    new HealthClient({ region: f.region, endpoint: f.url, credentials, maxAttempts: 1 });

  it('answers the real SDK: DescribeEvents filtered, newest first, paged with nextToken', async () => {
    fake = await startFakeAwsHealth({ pageSize: 1 });
    const ec2 = fake.addEvent({
      service: 'EC2',
      eventTypeCode: 'AWS_EC2_OPERATIONAL_ISSUE',
      eventTypeCategory: 'issue',
      region: 'eu-west-1',
      description: 'Increased API error rates',
    });
    const rds = fake.addEvent({
      service: 'RDS',
      eventTypeCode: 'AWS_RDS_OPERATIONAL_ISSUE',
      eventTypeCategory: 'issue',
      region: 'eu-west-1',
      availabilityZone: 'eu-west-1a',
      description: 'Connectivity issues',
    });
    fake.addEvent({
      service: 'EC2',
      eventTypeCode: 'AWS_EC2_OPERATIONAL_ISSUE',
      eventTypeCategory: 'issue',
      region: 'us-east-1',
      description: 'Elsewhere',
    });
    const health = client(fake);
    const filter = { regions: ['eu-west-1'], eventStatusCodes: ['open' as const] };
    const first = await health.send(new DescribeEventsCommand({ filter, maxResults: 10 }));
    expect(first.events?.map((e) => e.arn)).toEqual([rds.arn]);
    expect(first.events?.[0]).toMatchObject({ availabilityZone: 'eu-west-1a', statusCode: 'open' });
    expect(first.events?.[0]?.lastUpdatedTime).toBeInstanceOf(Date);
    expect(first.nextToken).toBeTruthy();
    const second = await health.send(new DescribeEventsCommand({ filter, maxResults: 10, nextToken: first.nextToken }));
    expect(second.events?.map((e) => e.arn)).toEqual([ec2.arn]);
    expect(second.nextToken).toBeUndefined();

    const details = await health.send(
      new DescribeEventDetailsCommand({ eventArns: [ec2.arn, 'arn:aws:health:x::event/A/B/C'] }),
    );
    expect(details.successfulSet?.[0]?.eventDescription?.latestDescription).toBe('Increased API error rates');
    expect(details.failedSet?.map((f) => f.eventArn)).toEqual(['arn:aws:health:x::event/A/B/C']);

    const [request] = fake.requests;
    expect(request).toMatchObject({
      method: 'POST',
      path: '/',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'AWSHealth_20160804.DescribeEvents',
        authorization: '[redacted]',
      },
      body: { filter: { regions: ['eu-west-1'], eventStatusCodes: ['open'] }, maxResults: 10 },
    });
  });

  it('checks the SigV4 signature: wrong secret, unknown key, missing or malformed Authorization', async () => {
    fake = await startFakeAwsHealth();
    const wrongSecret = client(fake, { ...fake.credentials, secretAccessKey: 'not-the-secret' });
    await expect(wrongSecret.send(new DescribeEventsCommand({}))).rejects.toMatchObject({
      name: 'InvalidSignatureException',
    });
    const unknownKey = client(fake, { accessKeyId: 'AKIAUNKNOWNKEY000000', secretAccessKey: 'x' });
    await expect(unknownKey.send(new DescribeEventsCommand({}))).rejects.toMatchObject({
      name: 'UnrecognizedClientException',
    });
    const wrongRegion = new HealthClient({
      region: 'eu-west-1',
      endpoint: fake.url,
      credentials: fake.credentials,
      maxAttempts: 1,
    });
    await expect(wrongRegion.send(new DescribeEventsCommand({}))).rejects.toMatchObject({
      name: 'InvalidSignatureException',
      message: expect.stringMatching(/region/),
    });
    const post = (headers: Record<string, string>) =>
      fetch(fake!.url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-amz-json-1.1', ...headers },
        body: '{}',
      });
    const target = { 'x-amz-target': 'AWSHealth_20160804.DescribeEvents' };
    const unsigned = await post(target);
    expect(unsigned.status).toBe(403);
    expect(await unsigned.json()).toMatchObject({ __type: expect.stringMatching(/MissingAuthenticationToken/) });
    const malformed = await post({ ...target, authorization: 'AWS4-HMAC-SHA256 Credential=nope' });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ __type: expect.stringMatching(/IncompleteSignature/) });
    expect((await post({ 'x-amz-target': 'AWSHealth_20160804.DeleteEverything' })).status).toBe(400);
    const plainJson = await fetch(fake.url, {
      method: 'POST',
      headers: { ...target, 'content-type': 'application/json' },
    });
    expect(await plainJson.json()).toMatchObject({ __type: expect.stringMatching(/SerializationException/) });
  });

  it('refuses unknown filter members, bad maxResults and a foreign nextToken; throttles and requires a subscription on demand', async () => {
    fake = await startFakeAwsHealth();
    const health = client(fake);
    await expect(
      health.send(new DescribeEventsCommand({ filter: { services: ['EC2'] }, maxResults: 5 })),
    ).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(
      health.send(new DescribeEventsCommand({ filter: { eventStatusCodes: ['later' as never] } })),
    ).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(health.send(new DescribeEventsCommand({ nextToken: 'bm90LW91cnM' }))).rejects.toMatchObject({
      name: 'InvalidPaginationToken',
    });
    fake.throttleNext();
    await expect(health.send(new DescribeEventsCommand({}))).rejects.toMatchObject({ name: 'ThrottlingException' });
    expect((await health.send(new DescribeEventsCommand({}))).events).toEqual([]);
    fake.setSubscription(false);
    await expect(health.send(new DescribeEventsCommand({}))).rejects.toMatchObject({
      name: 'SubscriptionRequiredException',
    });
  });

  it('builds the EventBridge "AWS Health Event" delivery of an event as it changes', async () => {
    fake = await startFakeAwsHealth();
    const event = fake.addEvent({
      service: 'EC2',
      eventTypeCode: 'AWS_EC2_OPERATIONAL_ISSUE',
      eventTypeCategory: 'issue',
      region: 'eu-west-1',
      description: 'Investigating',
    });
    expect(fake.eventBridgePayload(event.arn, { account: '111122223333' })).toMatchObject({
      version: '0',
      'detail-type': 'AWS Health Event',
      source: 'aws.health',
      account: '111122223333',
      region: 'eu-west-1',
      detail: {
        eventArn: event.arn,
        service: 'EC2',
        eventTypeCategory: 'issue',
        eventScopeCode: 'PUBLIC',
        statusCode: 'open',
        eventRegion: 'eu-west-1',
        startTime: expect.stringMatching(/^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/),
        eventDescription: [{ language: 'en_US', latestDescription: 'Investigating' }],
      },
    });
    fake.closeEvent(event.arn, 'Resolved');
    const closed = fake.eventBridgePayload(event.arn) as { detail: Record<string, unknown> };
    expect(closed.detail).toMatchObject({ statusCode: 'closed', endTime: expect.any(String) });
    expect(fake.event(event.arn).lastUpdatedTime).toBeGreaterThan(event.lastUpdatedTime);
  });
});
