import { expect } from 'vitest';
import type { RunView } from '../src/discovery/run.js';
import type { Harness } from './helpers.js';

/** An admin starts a discovery run (POST …/discovery/runs) and waits for its report. */
export async function runDiscovery(h: Harness): Promise<RunView> {
  const started = await h.json<RunView>('/apps/v1/discovery/runs', { method: 'POST', token: h.tokens.admin });
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  expect(started.body.status).toBe('running');
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const run = await h.json<RunView>(`/apps/v1/discovery/runs/${started.body.id}`);
    if (run.body.status !== 'running') return run.body;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the discovery run did not finish within 60 s');
}

/** One AWS API Gateway access log line (JSON): a GET of `path` on `host` from `ip`. */
export function gatewayLine(host: string, ip: string, at: Date, requestId: string, path = '/v1/items') {
  return JSON.stringify({
    requestId,
    ip,
    requestTimeEpoch: String(at.getTime()),
    httpMethod: 'GET',
    path,
    status: '200',
    protocol: 'HTTP/1.1',
    domainName: host,
  });
}

/** The AWS account of the CloudTrail fixtures, and Dana, the IAM user who creates things there. */
export const ACCOUNT = '123456789012';
export const DANA = `arn:aws:iam::${ACCOUNT}:user/dana`;

/** One CloudTrail record: Dana creates Lambda function `name` at `at` (event id `id`). */
export function createFunction(name: string, at: Date, id: string) {
  return {
    eventVersion: '1.08',
    userIdentity: { type: 'IAMUser', arn: DANA, accountId: ACCOUNT, userName: 'dana' },
    eventTime: at.toISOString(),
    eventSource: 'lambda.amazonaws.com',
    eventName: 'CreateFunction20150331',
    awsRegion: 'eu-west-1',
    sourceIPAddress: '203.0.113.9',
    requestParameters: { functionName: name, runtime: 'nodejs20.x' },
    responseElements: {
      functionName: name,
      functionArn: `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:${name}`,
    },
    eventID: id,
    recipientAccountId: ACCOUNT,
  };
}
