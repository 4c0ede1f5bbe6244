import type { Sighting } from '../sighting.js';
import { clfDate, dateOf, evidence, hostOf, LineError, obj, type RecordOrigin, str } from './common.js';

/*
 * Gateway and reverse-proxy access logs → `endpoint` sightings with action `traffic`: the host
 * (lower-cased, no port), the path (without its query string, which can carry tokens), the status
 * and the caller (the client IP).
 *
 * Accepted shapes, one request per line:
 * - AWS API Gateway JSON access logs (`accessLogSettings.format` a JSON template; every value
 *   quoted, `-` for empty). Fields read: `requestId`/`extendedRequestId` (recordId),
 *   `domainName` (host), `ip`/`sourceIp`/`identity.sourceIp` (caller), `path`, else the path of
 *   `routeKey` (`GET /items`) or `resourcePath`, `status`, `requestTimeEpoch` (ms) or
 *   `requestTime` (`dd/MMM/yyyy:HH:mm:ss +0000`). Templates without `domainName` need the
 *   source's `host` option.
 * - NGINX `combined`: `$remote_addr - $remote_user [$time_local] "$request" $status
 *   $body_bytes_sent "$http_referer" "$http_user_agent"`, which has no host: the source's `host`
 *   option gives it. The common variant with `"$host"` appended as the next quoted field is read
 *   too (the field wins over the option); further appended fields are ignored.
 * - Envoy's default format: `[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%
 *   %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION%
 *   %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%"
 *   "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"`; host is `:AUTHORITY` (else the
 *   `host` option), caller the first `X-Forwarded-For` address (the default format logs no peer
 *   address), response code 0 (no response) leaves status unset; fields appended by newer
 *   releases are ignored.
 * A line that does not have the shape throws `LineError`; so does a line with no host at all.
 */

export interface AccessLogOptions {
  /** Host of every request in the file, for formats or templates that do not log it. */
  host?: string;
}

function traffic(
  format: 'apigateway' | 'nginx' | 'envoy',
  host: string,
  at: Date,
  origin: RecordOrigin,
  fields: { caller?: string; path?: string; status?: number; recordId?: string },
): Sighting {
  const sighting: Sighting = {
    format,
    kind: 'endpoint',
    action: 'traffic',
    match: { host },
    label: host,
    at,
    evidence: evidence(origin),
  };
  if (fields.caller) sighting.caller = fields.caller;
  if (fields.path) sighting.path = fields.path;
  if (fields.status !== undefined) sighting.status = fields.status;
  if (fields.recordId) sighting.recordId = fields.recordId;
  return sighting;
}

function pathOf(target: string | undefined): string | undefined {
  if (!target) return undefined;
  const cut = target.search(/[?#]/);
  return cut >= 0 ? target.slice(0, cut) : target;
}

function statusOf(value: string | undefined): number | undefined {
  if (!value || !/^\d{1,3}$/.test(value)) return undefined;
  const status = Number(value);
  return status > 0 ? status : undefined;
}

function requireHost(host: string | undefined, what: string): string {
  if (!host) throw new LineError(`${what} and the source gives no host option`);
  return host;
}

/** One API Gateway JSON access log line. */
export function apiGatewaySighting(line: string, origin: RecordOrigin, options: AccessLogOptions = {}): Sighting {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (error) {
    throw new LineError(`not a JSON access log record (${(error as Error).message}); truncated line?`);
  }
  const r = obj(parsed);
  if (!r) throw new LineError('an API Gateway access log line must be a JSON object');
  const identity = obj(r.identity);
  const host = requireHost(
    hostOf(str(r.domainName)) ?? hostOf(options.host),
    'the record has no domainName ($context.domainName)',
  );
  const epoch = str(r.requestTimeEpoch);
  const at =
    (epoch && /^\d+$/.test(epoch) ? dateOf(Number(epoch) < 1e11 ? Number(epoch) * 1000 : Number(epoch)) : undefined) ??
    clfDate(str(r.requestTime)) ??
    dateOf(str(r.requestTime));
  if (!at) throw new LineError('the record has no readable requestTime or requestTimeEpoch');
  const routeKey = str(r.routeKey);
  const routePath = routeKey && routeKey !== '$default' ? routeKey.replace(/^\S+\s+/, '') : undefined;
  return traffic('apigateway', host, at, origin, {
    caller: str(r.ip) ?? str(r.sourceIp) ?? str(identity?.sourceIp) ?? str(r['identity.sourceIp']),
    path: pathOf(str(r.path) ?? routePath ?? str(r.resourcePath)),
    status: statusOf(str(r.status) ?? (typeof r.status === 'number' ? String(r.status) : undefined)),
    recordId: str(r.requestId) ?? str(r.extendedRequestId),
  });
}

// A quoted field: nginx escapes `"` as \x22, other writers as \".
const Q = '"((?:[^"\\\\]|\\\\.)*)"';
const NGINX = new RegExp(`^(\\S+) \\S+ (\\S+) \\[([^\\]]+)\\] ${Q} (\\d{3}) (\\S+) ${Q} ${Q}(?: ${Q})?`);
const ENVOY = new RegExp(
  `^\\[([^\\]]+)\\] ${Q} (\\d+) (\\S+) (\\S+) (\\S+) (\\S+) (\\S+) ${Q} ${Q} ${Q} ${Q}(?: ${Q})?`,
);

/** The target of a request line `GET /path HTTP/1.1`, or undefined for a malformed one. */
function requestTarget(request: string): string | undefined {
  const parts = request.split(' ');
  return parts.length === 3 && parts[1]!.startsWith('/') ? parts[1] : undefined;
}

/** One NGINX `combined` line (optionally with `"$host"` appended). */
export function nginxSighting(line: string, origin: RecordOrigin, options: AccessLogOptions = {}): Sighting {
  const m = NGINX.exec(line);
  if (!m) throw new LineError('not an NGINX combined log line');
  const at = clfDate(m[3]);
  if (!at) throw new LineError(`unreadable time [${m[3]}]`);
  const host = requireHost(hostOf(str(m[9])) ?? hostOf(options.host), 'the combined format logs no host');
  return traffic('nginx', host, at, origin, {
    caller: str(m[1]),
    path: pathOf(requestTarget(m[4]!)),
    status: statusOf(m[5]),
  });
}

/** One Envoy default-format line. */
export function envoySighting(line: string, origin: RecordOrigin, options: AccessLogOptions = {}): Sighting {
  const m = ENVOY.exec(line);
  if (!m) throw new LineError('not an Envoy default-format access log line');
  const at = dateOf(m[1]);
  if (!at) throw new LineError(`unreadable time [${m[1]}]`);
  const host = requireHost(hostOf(str(m[12])) ?? hostOf(options.host), 'the line has no :authority');
  const forwarded = str(m[9])?.split(',')[0]?.trim();
  return traffic('envoy', host, at, origin, {
    caller: str(forwarded),
    path: pathOf(requestTarget(m[2]!)),
    status: statusOf(m[3]),
  });
}
