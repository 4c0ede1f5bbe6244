import { FlagdCore, MemoryStorage } from '@openfeature/flagd-core';
import { describe, expect, it } from 'vitest';
import { type Degradation, FLAG_KEYS, flagDocument } from './flags.js';

/** flagd's own evaluator, fed the document as flagd's sync would: validated against flagd's schema. */
function flagd(document: unknown) {
  const storage = new MemoryStorage(console);
  storage.setConfigurations(JSON.stringify(document), true);
  const core = new FlagdCore(storage);
  return {
    latency: (service: string) => core.resolveNumberEvaluation(FLAG_KEYS.latency, -1, { service }),
    errorRate: (service: string) => core.resolveNumberEvaluation(FLAG_KEYS.errorRate, -1, { service }),
    dependencyOff: (service: string, dependency: string) =>
      core.resolveBooleanEvaluation(FLAG_KEYS.dependencyOff, true, { service, dependency }),
  };
}

type Fault<S = Degradation['step']> = S extends unknown ? Omit<S, 'at' | 'action'> : never;
const degrade = (runId: string, fault: Fault): Degradation =>
  ({ runId, step: { at: 0, action: 'degrade', ...fault } }) as Degradation;

describe('the drill flag document', () => {
  it('is a valid flagd configuration with every flag off when nothing is degraded', () => {
    const flags = flagd(flagDocument('staging', []));
    expect(flags.latency('payments-api')).toMatchObject({ value: 0, variant: 'off', reason: 'STATIC' });
    expect(flags.errorRate('payments-api')).toMatchObject({ value: 0, variant: 'off' });
    expect(flags.dependencyOff('payments-api', 'postgres')).toMatchObject({ value: false, variant: 'off' });
  });

  it('turns each fault on for the degraded service only', () => {
    const flags = flagd(
      flagDocument('staging', [
        degrade('r1', { service: 'payments-api', fault: 'latency', latencyMs: 800 }),
        degrade('r1', { service: 'payments-api', fault: 'dependency_off', dependency: 'postgres' }),
        degrade('r2', { service: 'checkout', fault: 'error_rate', errorRate: 0.25 }),
        degrade('r2', { service: 'checkout', fault: 'latency', latencyMs: 800 }),
      ]),
    );
    expect(flags.latency('payments-api')).toMatchObject({ value: 800, reason: 'TARGETING_MATCH' });
    expect(flags.latency('checkout').value).toBe(800);
    expect(flags.latency('search').value).toBe(0);
    expect(flags.errorRate('checkout').value).toBe(0.25);
    expect(flags.errorRate('payments-api').value).toBe(0);
    expect(flags.dependencyOff('payments-api', 'postgres').value).toBe(true);
    expect(flags.dependencyOff('payments-api', 'redis').value).toBe(false);
    expect(flags.dependencyOff('checkout', 'postgres').value).toBe(false);
  });

  it('takes the stronger of two degradations of one service', () => {
    const flags = flagd(
      flagDocument('staging', [
        degrade('r1', { service: 'payments-api', fault: 'latency', latencyMs: 200 }),
        degrade('r2', { service: 'payments-api', fault: 'latency', latencyMs: 1500 }),
      ]),
    );
    expect(flags.latency('payments-api').value).toBe(1500);
  });

  it('is the same text for the same degradations, whatever their order (a stable ETag)', () => {
    const a = degrade('r1', { service: 'payments-api', fault: 'latency', latencyMs: 200 });
    const b = degrade('r2', { service: 'checkout', fault: 'latency', latencyMs: 500 });
    expect(JSON.stringify(flagDocument('staging', [a, b]))).toBe(JSON.stringify(flagDocument('staging', [b, a])));
  });
});
