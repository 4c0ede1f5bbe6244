import { alertmanagerFingerprint } from '@micro-oncall/incident-model';
import {
  ConflictError,
  createHttpClient,
  type Logger,
  type ServiceError,
  UpstreamError,
} from '@micro-oncall/service-kit';
import { z } from 'zod';
import type { ActionContext, ActionOutcome, ActionRequest, ProviderActions, ProviderHttpOptions } from './types.js';

const PROVIDER = 'Alertmanager';

/** Default lifetime of a silence created by an acknowledgement (ALERTMANAGER_SILENCE_MINUTES). */
export const DEFAULT_SILENCE_MINUTES = 240;
/** The longest silence an acknowledgement may create: a forgotten one must not hide an alert for days. */
export const MAX_SILENCE_MINUTES = 72 * 60;

/** Alertmanager API v2 matcher (`POST /api/v2/silences`). */
export interface SilenceMatcher {
  name: string;
  value: string;
  isRegex: false;
  isEqual: true;
}

/** How to authenticate to Alertmanager (or a proxy in front of it): one of basic auth or a bearer token. */
export type AlertmanagerAuth = { basic: { username: string; password: string } } | { bearer: string } | null;

export interface AlertmanagerActionsOptions {
  /** Scheme, host and any path prefix of Alertmanager; the API is under `/api/v2`. */
  baseUrl: string;
  auth?: AlertmanagerAuth;
  /** How long a silence lasts (minutes, capped at MAX_SILENCE_MINUTES). */
  silenceMinutes?: number;
  /** The silences acknowledgements created for an incident (their ids), newest first. */
  silencesOf: (incidentId: string) => Promise<string[]>;
  logger: Logger;
  http?: ProviderHttpOptions;
  /** The clock (tests). */
  now?: () => Date;
}

export interface AlertmanagerActions extends ProviderActions {
  /**
   * Expires every silence acknowledgements created for the incident and still in force. Resolves
   * with the ids it expired (an already expired or unknown silence counts as done).
   */
  expireSilences(incidentId: string): Promise<string[]>;
  /**
   * The alert as Alertmanager's API has it now (`GET /api/v2/alerts`, active, silenced, inhibited
   * and unprocessed alike): `firing`, or `ended` when Alertmanager no longer lists it (it drops
   * an alert from the list once its end time passes) or lists it with an end time already passed.
   * Throws when Alertmanager cannot be asked or answers something else: never `ended` on doubt.
   */
  alertState(alert: { labels: Record<string, string>; fingerprint: string }): Promise<AlertState>;
  /**
   * When this Alertmanager started (`GET /api/v2/status`, `uptime`). Alertmanager keeps alerts in
   * memory only: just after a start, an alert is missing until its source sends it again.
   */
  startedAt(): Promise<Date>;
}

/** What Alertmanager's API says of one alert (AlertmanagerActions.alertState). */
export type AlertState =
  | { state: 'firing'; endsAt: string | null }
  /** `listed`: false when Alertmanager no longer lists the alert, true when it lists it as ended. */
  | { state: 'ended'; listed: boolean; why: string };

const Created = z.object({ silenceID: z.string().regex(/^[A-Za-z0-9-]{1,64}$/) });
const Silence = z.looseObject({ status: z.looseObject({ state: z.string() }) });
const Alerts = z.array(z.looseObject({ fingerprint: z.string(), endsAt: z.string().nullish() }));
const Status = z.looseObject({ uptime: z.string().refine((s) => !Number.isNaN(Date.parse(s))) });

/** A label matcher in Alertmanager's filter syntax: `name="value"`, the value escaped. */
export function matcherFilter(name: string, value: string): string {
  return `${name}=${JSON.stringify(value)}`;
}

/**
 * The matchers of a silence for one alert: an exact match on every label of the alert, sorted by
 * name. An alert is identified by its whole label set (its fingerprint is a hash of it), so this
 * silences exactly the alert that was acknowledged and nothing else: another pod of the same group
 * that starts failing later still notifies. Labels with an empty value are left out (in
 * Alertmanager an empty label is an absent one). Throws a ConflictError when there is nothing to
 * match on.
 */
export function silenceMatchers(labels: Readonly<Record<string, string>>): SilenceMatcher[] {
  const matchers = Object.entries(labels)
    .filter(([, value]) => value !== '')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => ({ name, value, isRegex: false as const, isEqual: true as const }));
  if (matchers.length === 0) {
    throw new ConflictError(
      'this Alertmanager alert has no labels to silence it by; silence it in Alertmanager itself',
    );
  }
  return matchers;
}

/** Who acted, as the silence's `createdBy` (shown in Alertmanager's UI). */
export function silenceCreator(ctx: ActionContext): string {
  return ctx.actor.email ?? ctx.actor.name ?? ctx.actor.subject;
}

/** The silence's comment: the responder's note, or who acknowledged which incident. */
export function silenceComment(incidentId: string, ctx: ActionContext, note: string | undefined): string {
  return note ?? `Acknowledged in micro-oncall by ${ctx.actor.name ?? silenceCreator(ctx)}, incident ${incidentId}`;
}

/**
 * Alertmanager has no acknowledgement, escalation, assignment or notes: acknowledging an
 * Alertmanager incident creates a silence for its alert (API v2), resolving it expires the
 * silences acknowledgements created (the alert itself resolves when its source stops firing it).
 * Escalate, reassign and note are refused before anything is recorded or sent.
 */
export function createAlertmanagerActions(opts: AlertmanagerActionsOptions): AlertmanagerActions {
  const minutes = Math.min(opts.silenceMinutes ?? DEFAULT_SILENCE_MINUTES, MAX_SILENCE_MINUTES);
  const now = opts.now ?? (() => new Date());
  const auth = opts.auth ?? null;
  const http = createHttpClient({
    name: PROVIDER,
    baseUrl: opts.baseUrl.replace(/\/+$/, ''),
    logger: opts.logger,
    ...opts.http,
    defaultHeaders: (): Record<string, string> => {
      if (!auth) return {};
      if ('bearer' in auth) return { Authorization: `Bearer ${auth.bearer}` };
      const basic = Buffer.from(`${auth.basic.username}:${auth.basic.password}`).toString('base64');
      return { Authorization: `Basic ${basic}` };
    },
  });

  async function silence(
    incident: { id?: string; providerId: string; labels?: Record<string, string> },
    note: string | undefined,
    ctx: ActionContext,
  ): Promise<ActionOutcome> {
    const { id, labels } = incident;
    if (id === undefined || labels === undefined)
      throw new Error('an Alertmanager action needs the incident id and labels');
    // The stored labels are bounded (incident-model): a shortened label would match nothing.
    if (alertmanagerFingerprint(labels) !== incident.providerId) {
      throw new ConflictError(
        `this alert's labels were shortened when it was recorded, so a silence built from them would not match alert ${incident.providerId}; silence it in Alertmanager itself`,
      );
    }
    const startsAt = now();
    const endsAt = new Date(startsAt.getTime() + minutes * 60_000);
    const res = await http.request({
      method: 'POST',
      path: '/api/v2/silences',
      body: {
        matchers: silenceMatchers(labels),
        startsAt: startsAt.toISOString(),
        endsAt: endsAt.toISOString(),
        createdBy: silenceCreator(ctx),
        comment: silenceComment(id, ctx, note),
      },
    });
    const created = Created.safeParse(res.body);
    if (!created.success) {
      throw new UpstreamError(`${PROVIDER} answered ${res.status} without a silence id`, {
        provider: PROVIDER,
        status: res.status,
      });
    }
    const silenceId = created.data.silenceID;
    return {
      detail: `${PROVIDER} silenced alert ${incident.providerId} until ${endsAt.toISOString()} (silence ${silenceId})`,
      providerRequestId: silenceId,
      providerStatus: res.status,
    };
  }

  /** Expires one silence; false when it was already expired or is unknown to Alertmanager. */
  async function expire(silenceId: string): Promise<boolean> {
    const path = `/api/v2/silence/${encodeURIComponent(silenceId)}`;
    try {
      const { body } = await http.request({ method: 'GET', path });
      const read = Silence.safeParse(body);
      if (read.success && read.data.status.state === 'expired') return false;
      await http.request({ method: 'DELETE', path });
      return true;
    } catch (error) {
      // Unknown (garbage-collected after its retention, or another Alertmanager): nothing to expire.
      if (error instanceof UpstreamError && error.upstreamStatus === 404) return false;
      throw error;
    }
  }

  async function expireSilences(incidentId: string): Promise<string[]> {
    const expired: string[] = [];
    for (const silenceId of await opts.silencesOf(incidentId)) {
      if (await expire(silenceId)) expired.push(silenceId);
    }
    return expired;
  }

  function refuse(request: ActionRequest): ServiceError | null {
    switch (request.action) {
      case 'escalate':
        return new ConflictError(
          'Alertmanager has no escalation: it only routes alerts to receivers. Escalate in the tool that pages your team (PagerDuty, Opsgenie) or change the route in Alertmanager',
        );
      case 'reassign':
        return new ConflictError(
          'Alertmanager has no assignment: alerts go to receivers by route, not to people. Acknowledge (silence) the alert here, or assign it in the tool that pages your team',
        );
      case 'note':
        return new ConflictError(
          'Alertmanager keeps no notes on alerts; give the note when acknowledging, and it becomes the silence comment',
        );
      default:
        return null;
    }
  }

  async function alertState(alert: { labels: Record<string, string>; fingerprint: string }): Promise<AlertState> {
    const name = alert.labels.alertname;
    const { body } = await http.request({
      method: 'GET',
      path: '/api/v2/alerts',
      // Narrowed by alert name (the fingerprint, a hash of every label, then picks the one alert);
      // every state asked for explicitly: a silenced or inhibited alert is still firing.
      query: {
        ...(name ? { filter: matcherFilter('alertname', name) } : {}),
        active: 'true',
        silenced: 'true',
        inhibited: 'true',
        unprocessed: 'true',
      },
    });
    const alerts = Alerts.safeParse(body);
    if (!alerts.success) {
      throw new UpstreamError(`${PROVIDER} answered GET /api/v2/alerts with something other than a list of alerts`, {
        provider: PROVIDER,
        status: 200,
      });
    }
    const listed = alerts.data.find((a) => a.fingerprint === alert.fingerprint);
    if (!listed)
      return { state: 'ended', listed: false, why: `${PROVIDER} no longer lists alert ${alert.fingerprint}` };
    const endsAt = listed.endsAt ?? null;
    // Alertmanager sets a firing alert's end time ahead (resolve_timeout) and moves it on at each
    // re-send; one in the past means the source said it ended.
    if (endsAt !== null && Date.parse(endsAt) <= now().getTime()) {
      return {
        state: 'ended',
        listed: true,
        why: `${PROVIDER} lists alert ${alert.fingerprint} as ended at ${endsAt}`,
      };
    }
    return { state: 'firing', endsAt };
  }

  async function startedAt(): Promise<Date> {
    const { body } = await http.request({ method: 'GET', path: '/api/v2/status' });
    const status = Status.safeParse(body);
    if (!status.success) {
      throw new UpstreamError(`${PROVIDER} answered GET /api/v2/status without its start time (uptime)`, {
        provider: PROVIDER,
        status: 200,
      });
    }
    return new Date(status.data.uptime);
  }

  return {
    provider: 'alertmanager',
    expireSilences,
    alertState,
    startedAt,
    refuse,
    async perform(incident, request, ctx) {
      switch (request.action) {
        case 'acknowledge':
          return silence(incident, request.note, ctx);
        case 'resolve': {
          if (incident.id === undefined) throw new Error('an Alertmanager action needs the incident id');
          const expired = await expireSilences(incident.id);
          if (expired.length === 0) {
            throw new ConflictError(
              `no silence from micro-oncall is in force for alert ${incident.providerId}: an Alertmanager alert resolves when its source stops firing it`,
            );
          }
          return {
            detail: `${PROVIDER} expired ${expired.length === 1 ? 'silence' : 'silences'} ${expired.join(', ')} of alert ${incident.providerId}; it resolves when its source stops firing it`,
            providerRequestId: expired[0] ?? null,
            providerStatus: 200,
          };
        }
        default: {
          const refusal = refuse(request);
          throw refusal ?? new ConflictError(`Alertmanager cannot ${request.action} an alert`);
        }
      }
    },
  };
}
