import { createLogger } from '@micro-oncall/service-kit';
import { describe, expect, it } from 'vitest';
import { createProviderRegistry } from './index.js';

const logger = createLogger({ service: 'registry-test', level: 'silent' });

describe(createProviderRegistry.name, () => {
  it('gives the configured adapters by provider name', () => {
    const registry = createProviderRegistry({
      pagerduty: { token: 't', fromEmail: 'bot@example.com', logger },
      opsgenie: { apiKey: 'k', logger },
      alertmanager: { baseUrl: 'http://alertmanager:9093', silencesOf: async () => [], logger },
    });

    expect(registry.forProvider('pagerduty')?.provider).toBe('pagerduty');
    expect(registry.forProvider('opsgenie')?.provider).toBe('opsgenie');
    expect(registry.forProvider('alertmanager')?.provider).toBe('alertmanager');
    expect(registry.alertmanager).toBe(registry.forProvider('alertmanager'));
  });

  it('has nothing for providers without an action API or without configuration', () => {
    const registry = createProviderRegistry({ pagerduty: { token: 't', fromEmail: 'bot@example.com', logger } });

    expect(registry.forProvider('opsgenie')).toBeNull();
    expect(registry.forProvider('alertmanager')).toBeNull();
    expect(registry.forProvider('generic')).toBeNull();
  });
});
