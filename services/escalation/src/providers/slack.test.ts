import { Writable } from 'node:stream';
import { createLogger, type ServiceError, UpstreamError } from '@micro-oncall/service-kit';
import { type FakeSlack, startFakeSlack } from '@micro-oncall/test-kit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSlackNotifier } from './slack.js';

let fake: FakeSlack;
beforeEach(async () => {
  fake = await startFakeSlack();
});
afterEach(async () => {
  await fake.stop();
});

function notifier() {
  const raw: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      raw.push(String(chunk));
      callback();
    },
  });
  const slack = createSlackNotifier({
    webhookUrl: fake.url,
    logger: createLogger({ service: 'slack-test', level: 'debug', destination }),
    dashboardUrl: 'https://oncall.example.com/',
    http: { retries: 2, backoff: { initialMs: 1, maxMs: 5 } },
  });
  return { slack, raw };
}

async function rejection(promise: Promise<unknown>): Promise<ServiceError> {
  try {
    await promise;
  } catch (error) {
    return error as ServiceError;
  }
  throw new Error('expected the notice to fail');
}

describe(createSlackNotifier.name, () => {
  it('posts text and a mrkdwn section linking to the incident, escaping &, < and >', async () => {
    await notifier().slack.notify({
      title: 'Escalated: <checkout> & co',
      text: 'PagerDuty said <b>5xx > 50%</b> & rising',
      url: '/incidents/inc_1?tab=history&x=1',
    });

    expect(fake.messages).toEqual([
      {
        text: 'Escalated: &lt;checkout&gt; &amp; co: PagerDuty said &lt;b&gt;5xx &gt; 50%&lt;/b&gt; &amp; rising',
        blocks: [
          {
            type: 'section',
            text: {
              type: 'mrkdwn',
              text: '*<https://oncall.example.com/incidents/inc_1?tab=history&amp;x=1|Escalated: &lt;checkout&gt; &amp; co>*\nPagerDuty said &lt;b&gt;5xx &gt; 50%&lt;/b&gt; &amp; rising',
            },
          },
        ],
      },
    ]);
    expect(fake.requests[0]).toMatchObject({ method: 'POST', headers: { 'content-type': 'application/json' } });
  });

  it('links to the dashboard when the message has no url', async () => {
    await notifier().slack.notify({ title: 't', text: 'x' });

    const section = (fake.messages[0]!.blocks as { text: { text: string } }[])[0]!;
    expect(section.text.text).toBe('*<https://oncall.example.com/|t>*\nx');
  });

  it.each([
    [400, 'invalid_payload'],
    [403, 'action_prohibited'],
    [404, 'channel_not_found'],
    [410, 'channel_is_archived'],
  ])('fails with 502 naming Slack error %i %s, without retrying', async (status, text) => {
    fake.failNext(text, status);

    const error = await rejection(notifier().slack.notify({ title: 't', text: 'x' }));

    expect(error).toBeInstanceOf(UpstreamError);
    expect(error.status).toBe(502);
    expect(error.message).toBe(`Slack answered ${status}: ${text}`);
    expect(fake.requests).toHaveLength(1);
    expect(fake.messages).toHaveLength(0);
  });

  it('retries 500 rollup_error and then fails with 502, never revealing the webhook URL', async () => {
    fake.failNext('rollup_error', 500, 3);
    const { slack, raw } = notifier();

    const error = await rejection(slack.notify({ title: 't', text: 'x' }));

    expect(error.message).toBe('Slack answered 500: rollup_error');
    expect(fake.requests).toHaveLength(3);
    expect(raw).toHaveLength(2);
    const secretPath = new URL(fake.url).pathname.split('/').pop()!;
    for (const text of [error.message, JSON.stringify(error.details), ...raw]) expect(text).not.toContain(secretPath);
  });

  it('recovers when a retried 500 is followed by ok', async () => {
    fake.failNext('rollup_error', 500);

    await notifier().slack.notify({ title: 't', text: 'x' });

    expect(fake.requests.map((r) => r.status)).toEqual([500, 200]);
    expect(fake.messages).toHaveLength(1);
  });
});
