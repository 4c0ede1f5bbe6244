import type { Mapping, MappingRule } from './config/mapping.js';
import type { ComponentState } from './internal-status.js';

/*
 * What GET /status/v1/mapping says about the mapping in force, pure: each rule with the number
 * of known components it matches, the components no rule maps, the rules that match nothing,
 * and (when escalation's catalogue could be asked) the mapped services it does not know.
 */

export interface RuleReport extends MappingRule {
  /** Known provider components this rule matches. */
  components: number;
}

export interface MappingReport {
  rules: RuleReport[];
  /** Known provider components no rule maps, by key. */
  unmapped: Pick<ComponentState, 'key' | 'pageId' | 'provider' | 'id' | 'name' | 'group'>[];
  /** Names of the rules that match no known component (a typo, or a component the provider renamed). */
  unmatchedRules: string[];
  /** Mapped services the catalogue does not know, with the rules naming them; null when it could not be asked. */
  unknownServices: { service: string; rules: string[] }[] | null;
}

export function mappingReport(
  mapping: Mapping,
  components: readonly ComponentState[],
  /** Every key escalation's catalogue resolves (slugs and aliases); null when unavailable. */
  knownServices: ReadonlySet<string> | null,
): MappingReport {
  const matches = new Map<string, number>(mapping.rules.map((r) => [r.name, 0]));
  const unmapped: MappingReport['unmapped'] = [];
  for (const c of components) {
    const rules = mapping.rulesFor({ pageId: c.pageId, id: c.id, name: c.name, group: c.group });
    if (rules.length === 0) {
      unmapped.push({ key: c.key, pageId: c.pageId, provider: c.provider, id: c.id, name: c.name, group: c.group });
    }
    for (const r of rules) matches.set(r.name, (matches.get(r.name) ?? 0) + 1);
  }
  const rules = mapping.rules.map((r) => ({ ...r, components: matches.get(r.name) ?? 0 }));
  let unknownServices: MappingReport['unknownServices'] = null;
  if (knownServices) {
    unknownServices = mapping
      .services()
      .filter((s) => !knownServices.has(s))
      .map((service) => ({
        service,
        rules: mapping.rules.filter((r) => r.services.includes(service)).map((r) => r.name),
      }));
  }
  return {
    rules,
    unmapped,
    unmatchedRules: rules.filter((r) => r.components === 0).map((r) => r.name),
    unknownServices,
  };
}
