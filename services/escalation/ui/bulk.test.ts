import { describe, expect, it } from 'vitest';
import { ApiError } from './api.js';
import {
  actionBody,
  type BulkResult,
  createSelection,
  isSelectable,
  rangeBetween,
  resultOf,
  resultText,
  runBulk,
  runPool,
  skipReason,
  summary,
} from './bulk.js';

type Status = 'triggered' | 'acknowledged' | 'resolved';
const incident = (id: string, status: Status = 'triggered', provider = 'pagerduty') => ({ id, status, provider });

describe('the list selection', () => {
  it('toggles rows, keeps the order they were picked in, and selects or clears everything shown', () => {
    const s = createSelection();
    expect(s.toggle('b')).toBe(true);
    expect(s.toggle('a')).toBe(true);
    expect(s.ids()).toEqual(['b', 'a']);
    expect(s.toggle('b')).toBe(false);
    expect(s.toggle('a', true)).toBe(true);
    expect(s.ids()).toEqual(['a']);
    s.setAll(['a', 'c', 'd'], true);
    expect(s.size).toBe(3);
    s.setAll(['c', 'd'], false);
    expect(s.ids()).toEqual(['a']);
    s.clear();
    expect(s.size).toBe(0);
  });

  it('says whether none, some or all of the shown incidents are selected (the header checkbox)', () => {
    const s = createSelection();
    expect(s.headerState(['a', 'b'])).toBe('none');
    s.toggle('a');
    expect(s.headerState(['a', 'b'])).toBe('some');
    s.toggle('b');
    expect(s.headerState(['a', 'b'])).toBe('all');
    expect(s.headerState([])).toBe('none');
  });

  it('drops incidents that left the list (resolved, filtered out) and keeps the rest', () => {
    const s = createSelection();
    s.setAll(['a', 'b', 'c'], true);
    expect(s.keepOnly(new Set(['a', 'c', 'z']))).toEqual(['b']);
    expect(s.ids()).toEqual(['a', 'c']);
    expect(s.keepOnly(new Set(['a', 'c']))).toEqual([]);
  });

  it('takes a Shift+click range in list order, either way round', () => {
    const list = ['a', 'b', 'c', 'd', 'e'];
    expect(rangeBetween(list, 'b', 'd')).toEqual(['b', 'c', 'd']);
    expect(rangeBetween(list, 'd', 'b')).toEqual(['b', 'c', 'd']);
    expect(rangeBetween(list, 'c', 'c')).toEqual(['c']);
    expect(rangeBetween(list, null, 'c')).toEqual(['c']); // no anchor yet
    expect(rangeBetween(list, 'gone', 'c')).toEqual(['c']); // the anchor left the list
    expect(rangeBetween(list, 'a', 'gone')).toEqual([]);
  });

  it('offers a checkbox only for incidents this service can act on', () => {
    expect(isSelectable({ provider: 'pagerduty' })).toBe(true);
    expect(isSelectable({ provider: 'opsgenie' })).toBe(true);
    expect(isSelectable({ provider: 'alertmanager' })).toBe(true);
    expect(isSelectable({ provider: 'generic' })).toBe(false);
  });
});

describe('which selected incidents an action is sent for', () => {
  it('skips what would mean nothing or could only be refused, and says why', () => {
    expect(skipReason('acknowledge', incident('a'))).toBeNull();
    expect(skipReason('acknowledge', incident('a', 'acknowledged'))).toBe('already acknowledged');
    expect(skipReason('acknowledge', incident('a', 'resolved'))).toBe('already resolved');
    expect(skipReason('resolve', incident('a', 'acknowledged'))).toBeNull();
    expect(skipReason('resolve', incident('a', 'resolved'))).toBe('already resolved');
    expect(skipReason('note', incident('a', 'resolved'))).toBeNull();
    expect(skipReason('note', incident('a', 'triggered', 'alertmanager'))).toBe('Alertmanager incidents take no notes');
    expect(skipReason('acknowledge', incident('a', 'triggered', 'alertmanager'))).toBeNull();
    expect(skipReason('resolve', incident('a', 'triggered', 'generic'))).toBe(
      'generic incidents are handled at their source',
    );
  });

  it('sends the same body the incident page sends, and no empty note', () => {
    expect(actionBody('acknowledge')).toEqual({ action: 'acknowledge' });
    expect(actionBody('resolve')).toEqual({ action: 'resolve' });
    expect(actionBody('note', '  Rolled back 4.2.1  ')).toEqual({ action: 'note', note: 'Rolled back 4.2.1' });
    expect(() => actionBody('note', '   ')).toThrow('a note needs some text');
  });
});

describe('each incident’s result', () => {
  it('is the provider’s sentence when it worked, and the API’s own message when it did not', () => {
    expect(resultOf('a', { ok: true, detail: 'PagerDuty acknowledged incident P1' })).toEqual({
      id: 'a',
      outcome: 'succeeded',
      text: 'PagerDuty acknowledged incident P1',
    });
    const upstream = new ApiError(502, 'PagerDuty answered 404: Not Found', 'upstream_error', 'req-1');
    expect(resultText(resultOf('a', { ok: false, error: upstream }))).toBe(
      'Failed: PagerDuty answered 404: Not Found (request req-1)',
    );
    const conflict = new ApiError(409, 'actions on generic incidents are not available here', 'conflict', null);
    expect(resultText(resultOf('a', { ok: false, error: conflict }))).toBe(
      'Refused: actions on generic incidents are not available here',
    );
    const unknown = new ApiError(503, 'PagerDuty did not confirm the acknowledge', 'outcome_unknown', null);
    expect(resultOf('a', { ok: false, error: unknown }).outcome).toBe('unknown');
    expect(resultOf('a', { ok: false, error: new Error('boom') })).toEqual({
      id: 'a',
      outcome: 'failed',
      text: 'boom',
    });
  });

  it('adds up to one line for the bar, with progress while it runs', () => {
    const results: BulkResult[] = [
      ...Array.from({ length: 9 }, (_, n) => ({ id: `i${n}`, outcome: 'succeeded' as const, text: 'ok' })),
      { id: 'x', outcome: 'failed', text: 'PagerDuty answered 404: Not Found' },
    ];
    expect(summary('acknowledge', results.slice(0, 4), 10)).toBe('Acknowledging 10 incidents… 4 of 10 answered');
    expect(summary('acknowledge', results, 10)).toBe('Acknowledge on 10 incidents: 9 done, 1 failed');
    expect(summary('note', [{ id: 'a', outcome: 'skipped', text: 'x' }], 1)).toBe('Add note on 1 incident: 1 skipped');
  });
});

describe('sending a bulk action', () => {
  it('never has more than the limit in flight and reports results as they come, in the list’s order', async () => {
    let inFlight = 0;
    let most = 0;
    const seen: number[] = [];
    const results = await runPool(
      Array.from({ length: 10 }, (_, n) => n),
      async (n) => {
        inFlight += 1;
        most = Math.max(most, inFlight);
        await new Promise((r) => setTimeout(r, (10 - n) * 2));
        inFlight -= 1;
        return { id: String(n), outcome: 'succeeded', text: '' };
      },
      { concurrency: 4, onResult: (_, index) => seen.push(index) },
    );
    expect(most).toBe(4);
    expect(seen).toHaveLength(10);
    expect(seen).not.toEqual([...seen].sort((a, b) => a - b)); // answered out of order…
    expect(results.map((r) => r.id)).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']); // …listed in order
    expect(await runPool([], async () => ({ id: '', outcome: 'succeeded', text: '' }))).toEqual([]);
  });

  it('sends one request per incident it applies to, and one failure does not stop the others', async () => {
    const sent: { id: string; body: unknown }[] = [];
    const results = await runBulk(
      'acknowledge',
      [incident('a'), incident('b', 'acknowledged'), incident('c'), incident('d')],
      async (id, body) => {
        sent.push({ id, body });
        if (id === 'c') throw new ApiError(502, 'PagerDuty answered 404: Not Found', 'upstream_error', null);
        return { detail: `PagerDuty acknowledged incident ${id}` };
      },
    );
    expect(sent).toEqual([
      { id: 'a', body: { action: 'acknowledge' } },
      { id: 'c', body: { action: 'acknowledge' } },
      { id: 'd', body: { action: 'acknowledge' } },
    ]);
    expect(results.map(resultText)).toEqual([
      'Done: PagerDuty acknowledged incident a',
      'Skipped: already acknowledged',
      'Failed: PagerDuty answered 404: Not Found',
      'Done: PagerDuty acknowledged incident d',
    ]);
  });

  it('adds the same note to each incident', async () => {
    const bodies: unknown[] = [];
    await runBulk(
      'note',
      [incident('a'), incident('b')],
      async (_, body) => {
        bodies.push(body);
        return { detail: 'added' };
      },
      { note: 'Upstream DNS outage, tracking in #inc-42' },
    );
    expect(bodies).toEqual([
      { action: 'note', note: 'Upstream DNS outage, tracking in #inc-42' },
      { action: 'note', note: 'Upstream DNS outage, tracking in #inc-42' },
    ]);
  });
});
