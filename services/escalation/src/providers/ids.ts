import { ConflictError, InputError } from '@micro-oncall/service-kit';

/**
 * The characters a provider uses in its object ids. An id goes into a URL path
 * (`/incidents/{id}`), where percent-encoding alone does not neutralise `.` and `..` segments:
 * ids are checked against the provider's alphabet before any request, and encoded as well.
 */
export interface IdAlphabet {
  provider: string;
  pattern: RegExp;
  /** How the ids look, for the error message. */
  looks: string;
}

/** PagerDuty ids (incidents, users, escalation policies): upper-case letters and digits. */
export const PAGERDUTY_IDS: IdAlphabet = {
  provider: 'PagerDuty',
  pattern: /^[A-Z0-9]{1,64}$/,
  looks: 'upper-case letters and digits, like Q2VU6LUZKJ7CQT',
};

/** Opsgenie alert and request ids: UUID-like, letters, digits and dashes. */
export const OPSGENIE_IDS: IdAlphabet = {
  provider: 'Opsgenie',
  pattern: /^[A-Za-z0-9-]{1,128}$/,
  looks: 'letters, digits and dashes, like 70413a06-38d6-4c85-92b8-5ebc900d42e2',
};

/** An id checked against its provider's alphabet and percent-encoded: safe as one URL path segment. */
export type PathSegment = string & { readonly __pathSegment: true };

const shown = (id: string) => JSON.stringify(id.length > 64 ? `${id.slice(0, 64)}…` : id);

/**
 * The incident's own id at the provider, ready for a URL path. An incident whose stored id is
 * not one of the provider's ids cannot be acted on here: 409, nothing is sent.
 */
export function incidentPathId(alphabet: IdAlphabet, id: string): PathSegment {
  if (!alphabet.pattern.test(id)) {
    throw new ConflictError(
      `this incident's ${alphabet.provider} id ${shown(id)} is not a valid ${alphabet.provider} id (${alphabet.looks}); act on it in ${alphabet.provider} itself`,
    );
  }
  return encodeURIComponent(id) as PathSegment;
}

/** An id from the request (a user, an escalation policy): 400 unless it is one of the provider's ids. */
export function requestedId(alphabet: IdAlphabet, id: string, what: string): string {
  if (!alphabet.pattern.test(id)) {
    throw new InputError(`${what} ${shown(id)} is not a valid ${alphabet.provider} id: expected ${alphabet.looks}`);
  }
  return id;
}
