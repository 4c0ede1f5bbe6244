import { describe, expect, it } from 'vitest';
import { densityKey, loadDensity, saveDensity } from './density.js';

/** An in-memory Storage, optionally one that refuses every call (private mode, blocked storage). */
function memoryStorage(refuse = false) {
  const items = new Map<string, string>();
  return {
    items,
    getItem(key: string) {
      if (refuse) throw new Error('SecurityError: storage is disabled');
      return items.get(key) ?? null;
    },
    setItem(key: string, value: string) {
      if (refuse) throw new Error('QuotaExceededError');
      items.set(key, value);
    },
  };
}

describe('list density', () => {
  it('is comfortable until the user chooses compact, then compact for that user only', () => {
    const storage = memoryStorage();
    expect(loadDensity(storage, 'dev-responder')).toBe('comfortable');
    saveDensity(storage, 'dev-responder', 'compact');
    expect(loadDensity(storage, 'dev-responder')).toBe('compact');
    expect(loadDensity(storage, 'dev-viewer')).toBe('comfortable');
    expect([...storage.items.keys()]).toEqual([densityKey('dev-responder')]);
    saveDensity(storage, 'dev-responder', 'comfortable');
    expect(loadDensity(storage, 'dev-responder')).toBe('comfortable');
  });

  it('reads anything it did not write as comfortable', () => {
    const storage = memoryStorage();
    storage.setItem(densityKey('dev-responder'), 'tiny');
    expect(loadDensity(storage, 'dev-responder')).toBe('comfortable');
  });

  it('still works, unremembered, where the browser refuses storage', () => {
    const refusing = memoryStorage(true);
    expect(() => saveDensity(refusing, 'dev-responder', 'compact')).not.toThrow();
    expect(loadDensity(refusing, 'dev-responder')).toBe('comfortable');
    expect(loadDensity(null, 'dev-responder')).toBe('comfortable');
  });
});
