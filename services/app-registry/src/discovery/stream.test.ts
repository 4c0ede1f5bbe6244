import { describe, expect, it } from 'vitest';
import { streamCursorSource, streamReportId } from './stream.js';

describe(streamReportId.name, () => {
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

  it('is one report id per topic and day, shaped as a UUID (every replica updates the same row)', () => {
    const id = streamReportId('oncall.discovery-lines.v1', '2026-12-01');
    expect(id).toMatch(UUID);
    expect(streamReportId('oncall.discovery-lines.v1', '2026-12-01')).toBe(id);
    expect(streamReportId('oncall.discovery-lines.v1', '2026-12-02')).not.toBe(id);
    expect(streamReportId('staging.discovery-lines.v1', '2026-12-01')).not.toBe(id);
  });

  it('names the cursor source after the topic', () => {
    expect(streamCursorSource('oncall.discovery-lines.v1')).toBe('stream:oncall.discovery-lines.v1');
  });
});
