import { ServiceSlug } from '@micro-oncall/incident-model';
import { z } from 'zod';
import { awsRuleMatches } from '../aws-health.js';
import { AwsAvailabilityZone, AwsRegion, AwsServiceCode } from './sources.js';
import { parseYamlWith, readYamlFile } from './yaml.js';

/*
 * The mapping file: provider components → internal services (the shape of the status-mapper
 * article, one named entry per rule). A rule names its page and exactly one of:
 *
 *   mappings:
 *     cloudflare-cdn-edge:
 *       page: cloudflare          # a source id from the sources file
 *       component: CDN Edge       # the component's id or exact name
 *       services: [frontend, api-gateway]
 *     cloudflare-europe:
 *       page: cloudflare
 *       group: Europe             # every component of the group (its id or exact name)
 *       services: [eu-edge]
 *     github-actions:
 *       page: github
 *       namePattern: "^actions"   # a regular expression on the component name, case-insensitive
 *       services: [ci]
 *     aws-ec2-eu-west-1:
 *       page: aws                 # an aws-health source
 *       aws: { service: EC2, region: eu-west-1 }   # region optional (any); availabilityZone optional
 *       services: [payments-api]
 *
 * An `aws` rule matches the service's components in the region, its zones' included; with an
 * availabilityZone, that zone's component and the region-wide one (a region's trouble reaches
 * every zone), not the other zones'.
 * A component matched by several rules maps to the union of their services.
 */

export interface MappableComponent {
  pageId: string;
  id: string;
  name: string;
  group: { id: string; name: string } | null;
}

const isRegExp = (pattern: string) => {
  try {
    new RegExp(pattern, 'i');
    return true;
  } catch {
    return false;
  }
};

/** AWS Health components (`<service>/<region>[/<zone>]`, see aws-health.ts) by service, region and zone. */
const AwsRule = z
  .strictObject({
    service: AwsServiceCode,
    region: AwsRegion.optional(),
    availabilityZone: AwsAvailabilityZone.optional(),
  })
  .refine((r) => !r.availabilityZone || (r.region !== undefined && r.availabilityZone.startsWith(r.region)), {
    message: 'an availabilityZone needs its region (eu-west-1a is in eu-west-1)',
    path: ['availabilityZone'],
  });

const Rule = z
  .strictObject({
    page: z.string().min(1),
    component: z.string().min(1).max(512).optional(),
    group: z.string().min(1).max(512).optional(),
    namePattern: z.string().min(1).max(512).refine(isRegExp, 'not a valid regular expression').optional(),
    aws: AwsRule.optional(),
    services: z.array(ServiceSlug).min(1, 'name at least one internal service').max(200),
  })
  .refine((r) => [r.component, r.group, r.namePattern, r.aws].filter((x) => x !== undefined).length === 1, {
    message: 'give exactly one of component, group, namePattern, aws',
  });

export type MappingRule = z.output<typeof Rule> & { name: string };

function mappingFileSchema(knownPages: ReadonlySet<string> | null) {
  return z.strictObject({
    mappings: z
      .record(z.string().min(1).max(128), Rule)
      .default({})
      .superRefine((rules, ctx) => {
        if (!knownPages) return;
        for (const [name, rule] of Object.entries(rules)) {
          if (!knownPages.has(rule.page)) {
            ctx.addIssue({
              code: 'custom',
              path: [name, 'page'],
              message: `no page ${JSON.stringify(rule.page)} in the sources file`,
            });
          }
        }
      }),
  });
}

export class Mapping {
  private readonly compiled: { rule: MappingRule; pattern: RegExp | null }[];

  constructor(readonly rules: readonly MappingRule[]) {
    this.compiled = rules.map((rule) => ({
      rule,
      pattern: rule.namePattern ? new RegExp(rule.namePattern, 'i') : null,
    }));
  }

  /** Reads and validates a mapping file; with `knownPages`, a rule's page must be one of them. */
  static fromFile(file: string, knownPages?: Iterable<string>): Mapping {
    const parsed = readYamlFile(mappingFileSchema(knownPages ? new Set(knownPages) : null), file);
    return Mapping.fromRules(parsed.mappings);
  }

  /** Parses and validates the text of a mapping file (`file` names it in errors), as fromFile does. */
  static fromText(text: string, file: string, knownPages?: Iterable<string>): Mapping {
    const parsed = parseYamlWith(mappingFileSchema(knownPages ? new Set(knownPages) : null), text, file);
    return Mapping.fromRules(parsed.mappings);
  }

  static fromRules(rules: Record<string, z.input<typeof Rule>>): Mapping {
    return new Mapping(Object.entries(rules).map(([name, rule]) => ({ ...Rule.parse(rule), name })));
  }

  static empty(): Mapping {
    return new Mapping([]);
  }

  /** The rules that match `component`, in file order. */
  rulesFor(component: MappableComponent): MappingRule[] {
    return this.compiled
      .filter(({ rule, pattern }) => {
        if (rule.page !== component.pageId) return false;
        if (rule.component !== undefined) return rule.component === component.id || rule.component === component.name;
        if (rule.group !== undefined) {
          return component.group !== null && (rule.group === component.group.id || rule.group === component.group.name);
        }
        if (rule.aws !== undefined) return awsRuleMatches(rule.aws, component.id);
        return pattern?.test(component.name);
      })
      .map(({ rule }) => rule);
  }

  /** The internal services `component` maps to (sorted, no duplicates); empty when unmapped. */
  servicesFor(component: MappableComponent): string[] {
    return [...new Set(this.rulesFor(component).flatMap((r) => r.services))].sort();
  }

  /** Every internal service some rule names. */
  services(): string[] {
    return [...new Set(this.rules.flatMap((r) => r.services))].sort();
  }
}
