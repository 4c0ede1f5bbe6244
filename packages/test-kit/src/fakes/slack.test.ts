import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FakeSlack, startFakeSlack } from './slack.js';

let fake: FakeSlack;
beforeEach(async () => {
  fake = await startFakeSlack();
});
afterEach(async () => {
  await fake.stop();
});

async function post(body: unknown, url = fake.url, contentType = 'application/json') {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
}

describe(startFakeSlack.name, () => {
  it('answers 200 ok and keeps the message', async () => {
    expect(await post({ text: 'hi' })).toEqual({ status: 200, text: 'ok' });
    expect(fake.messages).toEqual([{ text: 'hi' }]);
  });

  it.each([
    ['no text and no blocks', {}],
    ['empty blocks', { text: 'x', blocks: [] }],
    ['a section without text', { text: 'x', blocks: [{ type: 'section' }] }],
    [
      'a section over 3000 characters',
      { blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'x'.repeat(3001) } }] },
    ],
  ])('answers 400 invalid_payload for %s', async (_what, body) => {
    expect(await post(body)).toEqual({ status: 400, text: 'invalid_payload' });
    expect(fake.messages).toHaveLength(0);
  });

  it('answers 404 no_service for another webhook path', async () => {
    expect((await post({ text: 'x' }, `${new URL(fake.url).origin}/services/T/B/other`)).status).toBe(404);
  });

  it('answers injected errors as plain text', async () => {
    fake.failNext('channel_is_archived', 410);
    expect(await post({ text: 'x' })).toEqual({ status: 410, text: 'channel_is_archived' });
    expect(await post({ text: 'x' })).toEqual({ status: 200, text: 'ok' });
  });
});
