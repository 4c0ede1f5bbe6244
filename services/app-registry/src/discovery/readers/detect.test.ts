import { describe, expect, it } from 'vitest';
import { detectFormat, skippedFile } from './detect.js';

describe('detectFormat', () => {
  it('knows the file names producers always use', () => {
    expect(
      detectFormat(
        'AWSLogs/111122223333/CloudTrail/us-east-1/2026/12/01/111122223333_CloudTrail_us-east-1_20261201T0905Z_a1b2c3d4e5f6g7h8.json.gz',
        '',
      ),
    ).toBe('cloudtrail');
    expect(detectFormat('111122223333_CloudTrail_eu-west-1_20261201T0905Z_Zx81kq0aBcdEfGhI.json.gz', '')).toBe(
      'cloudtrail',
    );
    expect(detectFormat('cloudaudit.googleapis.com/activity/2026/12/01/08:00:00_08:59:59_S0.json', '')).toBe(
      'gcp-audit',
    );
    expect(
      detectFormat('insights-activity-logs/resourceId=/SUBSCRIPTIONS/S/y=2026/m=12/d=01/h=08/m=00/PT1H.json', ''),
    ).toBe('azure-activity');
  });

  it('recognises each format from its first line', () => {
    expect(detectFormat('a.json', '{"Records":[{"eventVersion":"1.09"')).toBe('cloudtrail');
    expect(detectFormat('a.json', '{\n  "Records": [\n')).toBe('cloudtrail');
    expect(detectFormat('a.jsonl', '{"eventVersion":"1.08","eventSource":"s3.amazonaws.com"}')).toBe('cloudtrail');
    expect(detectFormat('a.json', '[{"protoPayload":{"methodName":"x"}}]')).toBe('gcp-audit');
    expect(detectFormat('a.json', '{"value":[{"operationName":{"value":"x"},"resourceId":"/s"}]}')).toBe(
      'azure-activity',
    );
    expect(detectFormat('a.log', '{"requestId":"abc","ip":"1.2.3.4","status":"200"}')).toBe('apigateway');
    expect(detectFormat('a.log', '[2026-12-01T10:30:00.123Z] "GET / HTTP/1.1" 200 - 0 1 1 1 "-" "-" "-" "h" "-"')).toBe(
      'envoy',
    );
    expect(detectFormat('a.log', '192.0.2.1 - - [01/Dec/2026:10:20:01 +0000] "GET / HTTP/1.1" 200 1 "-" "-"')).toBe(
      'nginx',
    );
    expect(detectFormat('a.log', 'Dec  1 10:00:01 web-01 systemd[1]: Started')).toBeUndefined();
    expect(detectFormat('a.json', '{"hello":"world"}')).toBeUndefined();
  });

  it('skips CloudTrail digest and Insight files', () => {
    expect(skippedFile('AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/12/01/x.json.gz')).toMatch(/digest/);
    expect(skippedFile('AWSLogs/111122223333/CloudTrail-Insight/us-east-1/2026/12/01/x.json.gz')).toMatch(/Insights/);
    expect(skippedFile('AWSLogs/111122223333/CloudTrail/us-east-1/2026/12/01/x.json.gz')).toBeUndefined();
  });
});
