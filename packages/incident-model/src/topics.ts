/** The Kafka topics of the platform, by kind. Every topic is versioned and has a `.dlq` twin. */
export const TOPIC_KINDS = [
  'incident-events',
  'incident-actions',
  'provider-status',
  'drills',
  'app-registry',
] as const;

export type TopicKind = (typeof TOPIC_KINDS)[number];

export const DEFAULT_TOPIC_NAMESPACE = 'oncall';

// Dot-separated segments of lowercase letters, digits and inner dashes: `oncall`, `staging.oncall`.
const NAMESPACE_PATTERN = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$/;
// Kafka allows 249 characters; leave room for the kind, the version and `.dlq`.
const NAMESPACE_MAX_LENGTH = 200;

export function isTopicKind(value: unknown): value is TopicKind {
  return typeof value === 'string' && (TOPIC_KINDS as readonly string[]).includes(value);
}

/**
 * `topicName('incident-events')` → `oncall.incident-events.v1`.
 * Throws on an invalid namespace: that is a configuration error and must stop start-up.
 */
export function topicName(kind: TopicKind, namespace: string = DEFAULT_TOPIC_NAMESPACE): string {
  if (!isTopicKind(kind)) {
    throw new Error(`Unknown topic kind ${JSON.stringify(kind)}; expected one of ${TOPIC_KINDS.join(', ')}`);
  }
  if (namespace.length > NAMESPACE_MAX_LENGTH || !NAMESPACE_PATTERN.test(namespace)) {
    throw new Error(
      `Invalid topic namespace ${JSON.stringify(namespace)}: use lowercase letters, digits, dashes and dots ` +
        `(dot-separated segments, each starting and ending with a letter or digit, at most ${NAMESPACE_MAX_LENGTH} characters)`,
    );
  }
  return `${namespace}.${kind}.v1`;
}

/** The dead-letter topic of a topic: `oncall.incident-events.v1` → `oncall.incident-events.v1.dlq`. */
export function dlqTopicName(topic: string): string {
  if (topic.length === 0) {
    throw new Error('Cannot derive a dead-letter topic from an empty topic name');
  }
  return `${topic}.dlq`;
}
