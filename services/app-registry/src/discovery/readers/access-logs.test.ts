import { describe, expect, it } from 'vitest';
import { apiGatewaySighting, envoySighting, nginxSighting } from './access-logs.js';
import { LineError } from './common.js';

const at = (line: number, text: string) => ({ file: 'access.log', line, text });

function read<T>(
  fn: (line: string, origin: ReturnType<typeof at>, options?: { host?: string }) => T,
  line: string,
  host?: string,
) {
  return fn(line, at(1, line), host ? { host } : {});
}

describe('API Gateway JSON access logs', () => {
  const line =
    '{"requestId":"Ktm3hGmaoAMEVfQ=","ip":"10.20.30.40","requestTime":"01/Dec/2026:10:15:02 +0000","httpMethod":"GET","routeKey":"GET /reports/{id}","path":"/reports/2026-11?format=pdf","status":"200","protocol":"HTTP/1.1","responseLength":"18234","domainName":"Reports.Internal.Example.com:443"}';

  it('reads host, path without query, status, caller and request id', () => {
    expect(read(apiGatewaySighting, line)).toEqual({
      format: 'apigateway',
      kind: 'endpoint',
      action: 'traffic',
      match: { host: 'reports.internal.example.com' },
      label: 'reports.internal.example.com',
      at: new Date('2026-12-01T10:15:02Z'),
      caller: '10.20.30.40',
      path: '/reports/2026-11',
      status: 200,
      recordId: 'Ktm3hGmaoAMEVfQ=',
      evidence: at(1, line),
    });
  });

  it('takes the host from the source when the template logs no domainName, and the path from the route key', () => {
    const usual =
      '{"requestId":"abc","ip":"10.0.0.9","requestTime":"01/Dec/2026:10:15:02 +0000","httpMethod":"POST","routeKey":"POST /orders","status":"201","protocol":"HTTP/1.1","responseLength":"-"}';
    expect(read(apiGatewaySighting, usual, 'orders.example.com')).toMatchObject({
      match: { host: 'orders.example.com' },
      path: '/orders',
      status: 201,
    });
    expect(() => read(apiGatewaySighting, usual)).toThrow(/no domainName.*no host option/);
  });

  it('refuses a truncated line', () => {
    expect(() => read(apiGatewaySighting, line.slice(0, 80))).toThrow(LineError);
  });
});

describe('NGINX combined', () => {
  it('reads a combined line with the source host', () => {
    const line =
      '192.0.2.10 - - [01/Dec/2026:10:20:01 +0100] "GET /timesheets/week/48?user=42 HTTP/1.1" 200 5123 "https://intranet.example.com/" "Mozilla/5.0 (X11; Linux x86_64)"';
    expect(read(nginxSighting, line, 'Timesheets.Example.com')).toMatchObject({
      format: 'nginx',
      match: { host: 'timesheets.example.com' },
      at: new Date('2026-12-01T09:20:01Z'),
      caller: '192.0.2.10',
      path: '/timesheets/week/48',
      status: 200,
    });
    expect(() => read(nginxSighting, line)).toThrow(/logs no host/);
  });

  it('prefers an appended "$host" field and ignores further fields', () => {
    const line =
      '192.0.2.21 - bob [01/Dec/2026:10:21:01 +0000] "GET /pages/Home HTTP/2.0" 304 0 "-" "Mozilla/5.0" "wiki.example.com:8443" "198.51.100.99"';
    expect(read(nginxSighting, line, 'other.example.com')).toMatchObject({
      match: { host: 'wiki.example.com' },
      status: 304,
    });
  });

  it('keeps traffic with a malformed request line but without a path; refuses lines of other shapes', () => {
    const garbage = '192.0.2.12 - - [01/Dec/2026:10:20:04 +0000] "\\x16\\x03\\x01" 400 157 "-" "-"';
    const sighting = read(nginxSighting, garbage, 'h.example.com');
    expect(sighting.status).toBe(400);
    expect(sighting.path).toBeUndefined();
    expect(() => read(nginxSighting, 'GET /index.html 200', 'h.example.com')).toThrow(/not an NGINX combined/);
  });
});

describe('Envoy default format', () => {
  it('reads the authority as host and the first forwarded address as caller', () => {
    const line =
      '[2026-12-01T10:30:00.123Z] "GET /api/v1/tickets?page=2 HTTP/1.1" 200 - 0 2431 12 11 "10.0.4.17, 10.0.0.2" "python-requests/2.32.3" "5e4f1a2b-7c3d-4e5f-9a8b-0c1d2e3f4a5b" "Helpdesk.internal.example.com:8080" "10.1.2.3:8080"';
    expect(read(envoySighting, line)).toMatchObject({
      format: 'envoy',
      match: { host: 'helpdesk.internal.example.com' },
      at: new Date('2026-12-01T10:30:00.123Z'),
      caller: '10.0.4.17',
      path: '/api/v1/tickets',
      status: 200,
    });
  });

  it('leaves the status unset when there was no response (code 0) and reads fields appended by newer releases', () => {
    const line =
      '[2026-12-01T10:30:01.004Z] "POST /api/v1/tickets HTTP/2" 0 DC 512 0 3 - "-" "okhttp/4.12.0" "6f5a" "helpdesk.internal.example.com" "-" "extra"';
    const sighting = read(envoySighting, line);
    expect(sighting.status).toBeUndefined();
    expect(sighting.caller).toBeUndefined();
    expect(sighting.match.host).toBe('helpdesk.internal.example.com');
  });
});
