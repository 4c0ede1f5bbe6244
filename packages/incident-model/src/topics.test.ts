import { describe, expect, it } from 'vitest';
import { dlqTopicName, RAW_TOPIC_KINDS, TOPIC_KINDS, topicName } from './topics.js';

describe(topicName.name, () => {
  it('names every topic oncall.<kind>.v1 by default', () => {
    expect(TOPIC_KINDS.map((kind) => topicName(kind))).toEqual([
      'oncall.incident-events.v1',
      'oncall.incident-actions.v1',
      'oncall.provider-status.v1',
      'oncall.drills.v1',
      'oncall.app-registry.v1',
    ]);
  });

  it('names raw topics (log lines other systems write) the same way', () => {
    expect(RAW_TOPIC_KINDS.map((kind) => topicName(kind))).toEqual(['oncall.discovery-lines.v1']);
    expect(topicName('discovery-lines', 'staging.oncall-2')).toBe('staging.oncall-2.discovery-lines.v1');
  });

  it('uses a configured namespace', () => {
    expect(topicName('drills', 'staging.oncall-2')).toBe('staging.oncall-2.drills.v1');
  });

  it.each(['', 'OnCall', 'on call', 'oncall.', '.oncall', '-oncall', 'on..call', 'on_call', 'a'.repeat(201)])(
    'rejects the invalid namespace %j',
    (namespace) => {
      expect(() => topicName('drills', namespace)).toThrow(/Invalid topic namespace/);
    },
  );

  it('rejects an unknown kind passed around the type system', () => {
    expect(() => topicName('incidents' as never)).toThrow(/Unknown topic kind/);
  });
});

describe(dlqTopicName.name, () => {
  it('appends .dlq', () => {
    expect(dlqTopicName(topicName('incident-events'))).toBe('oncall.incident-events.v1.dlq');
  });

  it('rejects an empty topic', () => {
    expect(() => dlqTopicName('')).toThrow();
  });
});
