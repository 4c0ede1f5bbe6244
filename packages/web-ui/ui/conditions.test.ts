import { describe, expect, it } from 'vitest';
import { conditionLabel, conditionRank, knownCondition } from './common/conditions.js';

describe(knownCondition.name, () => {
  it('reads any condition it does not know as unknown, never as operational', () => {
    expect(knownCondition('major_outage')).toBe('major_outage');
    expect(knownCondition('on_fire')).toBe('unknown');
    expect(knownCondition('constructor')).toBe('unknown');
    expect(knownCondition(null)).toBe('unknown');
  });
});

describe(conditionRank.name, () => {
  it('ranks confirmed outages above unknown, and unknown above maintenance and operational', () => {
    const worstFirst = ['operational', 'under_maintenance', 'on_fire', 'degraded_performance', 'major_outage'].sort(
      (a, b) => conditionRank(b) - conditionRank(a),
    );
    expect(worstFirst).toEqual(['major_outage', 'degraded_performance', 'on_fire', 'under_maintenance', 'operational']);
  });
});

describe(conditionLabel.name, () => {
  it('spells a condition out for people', () => {
    expect(conditionLabel('partial_outage')).toBe('partial outage');
    expect(conditionLabel('on_fire')).toBe('unknown');
  });
});
