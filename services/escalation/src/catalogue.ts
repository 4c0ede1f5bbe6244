import { readFileSync } from 'node:fs';
import { ServiceSlug, type Severity, SeverityWithLegacyNames, slugifyService } from '@micro-oncall/incident-model';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

const Contact = z.object({
  type: z.enum(['email', 'slack', 'phone', 'sms', 'pagerduty', 'opsgenie', 'url']),
  value: z.string().min(1).max(512),
});

const EscalationTarget = z.object({
  name: z.string().min(1).max(128),
  oncall: z.string().min(1).max(128).optional(),
  contacts: z.array(Contact).max(10).default([]),
});
export type EscalationTarget = z.infer<typeof EscalationTarget>;

const ServiceEntry = z.object({
  name: z.string().min(1).max(128).optional(),
  team: z.string().min(1).max(128),
  owners: z.array(z.string().min(1).max(256)).min(1, 'a service needs at least one owner'),
  oncall: z.string().min(1).max(128).optional(),
  contacts: z.array(Contact).max(10).default([]),
  /** How much the service matters, on the incident severity scale (`critical` … `info`; `p0`…`p4` still read). */
  priority: SeverityWithLegacyNames.default('medium'),
  aliases: z.array(z.string().min(1).max(128)).default([]),
  /** Who to reach when the owners do not answer; defaults to the catalogue-wide fallback. */
  fallback: EscalationTarget.optional(),
});

export const CatalogueFile = z.object({
  version: z.literal(1),
  defaults: z.object({ fallback: EscalationTarget }),
  services: z.record(ServiceSlug, ServiceEntry),
});
export type CatalogueFile = z.infer<typeof CatalogueFile>;

export interface ServiceOwnership {
  /** False for services the catalogue does not know: the incident is unowned. */
  owned: boolean;
  service: string;
  name: string | null;
  team: string | null;
  owners: string[];
  oncall: string | null;
  contacts: z.infer<typeof Contact>[];
  priority: Severity | null;
  fallback: EscalationTarget;
}

export class ServiceCatalogue {
  private readonly bySlug = new Map<string, ServiceOwnership>();
  private readonly fallback: EscalationTarget;

  constructor(file: CatalogueFile) {
    this.fallback = file.defaults.fallback;
    for (const [slug, entry] of Object.entries(file.services)) {
      const ownership: ServiceOwnership = {
        owned: true,
        service: slug,
        name: entry.name ?? slug,
        team: entry.team,
        owners: entry.owners,
        oncall: entry.oncall ?? null,
        contacts: entry.contacts,
        priority: entry.priority,
        fallback: entry.fallback ?? file.defaults.fallback,
      };
      for (const key of [slug, ...entry.aliases.map(slugifyService)]) {
        const clash = this.bySlug.get(key);
        if (clash) throw new Error(`service catalogue: '${key}' names both ${clash.service} and ${slug}`);
        this.bySlug.set(key, ownership);
      }
    }
  }

  /** Parses and validates services.yml; the error names each bad field. */
  static fromYaml(text: string, source = 'services.yml'): ServiceCatalogue {
    let raw: unknown;
    try {
      raw = parseYaml(text);
    } catch (error) {
      throw new Error(`${source}: not valid YAML: ${(error as Error).message}`);
    }
    const parsed = CatalogueFile.safeParse(raw);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
      throw new Error(`${source} is invalid:\n  - ${problems.join('\n  - ')}`);
    }
    return new ServiceCatalogue(parsed.data);
  }

  static fromFile(path: string): ServiceCatalogue {
    return ServiceCatalogue.fromYaml(readFileSync(path, 'utf8'), path);
  }

  /** Every service key (slugs and aliases) the catalogue knows. */
  knownServices(): string[] {
    return [...this.bySlug.keys()];
  }

  /** Service keys owned by `owner`: an owner entry, the team, or the oncall handle. */
  servicesOwnedBy(owner: string): string[] {
    const needle = owner.toLowerCase();
    return [...this.bySlug]
      .filter(
        ([, o]) =>
          o.owners.some((x) => x.toLowerCase() === needle) ||
          o.team?.toLowerCase() === needle ||
          o.oncall?.toLowerCase() === needle,
      )
      .map(([key]) => key);
  }

  /** Ownership of `service`; unknown services come back unowned with the default fallback. */
  lookup(service: string): ServiceOwnership {
    return (
      this.bySlug.get(service) ?? {
        owned: false,
        service,
        name: null,
        team: null,
        owners: [],
        oncall: null,
        contacts: [],
        priority: null,
        fallback: this.fallback,
      }
    );
  }
}
