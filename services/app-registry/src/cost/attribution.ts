import { type CostLine, own } from './readers.js';

/*
 * Which app a cost line belongs to: the app named by one of its tags (the deploy-time tags the
 * template writes, `app-id` and `micro-oncall.io/app` by default), else the app that lists the
 * line's resource id among its cloud resource ids. A line neither names is untagged: it is kept
 * (with its team and environment tags, when it has them) and shown, never dropped.
 */

export interface AppCostIdentity {
  id: string;
  teamName: string;
  cloudResourceIds: readonly string[];
}

export interface AttributionSettings {
  /** Tag keys whose value is an app id, tried in order. */
  appTagKeys: readonly string[];
  /** Tag keys naming the team of a line no app claims. */
  teamTagKeys: readonly string[];
  /** Tag keys naming the environment (production, staging, …). */
  environmentTagKeys: readonly string[];
}

export const DEFAULT_ATTRIBUTION: AttributionSettings = {
  appTagKeys: ['app-id', 'micro-oncall.io/app'],
  teamTagKeys: ['team', 'micro-oncall.io/team'],
  environmentTagKeys: ['environment', 'env', 'micro-oncall.io/environment'],
};

export interface Attributed {
  appId: string | null;
  /** How: by a tag, by the resource id, or not at all (untagged). */
  via: 'tag' | 'resource' | null;
  team: string | null;
  environment: string | null;
}

const firstTag = (tags: Record<string, string>, keys: readonly string[]) => {
  for (const key of keys) {
    const value = tags[key]?.trim();
    if (value && value !== 'true') return value;
  }
  return null;
};

/**
 * Each key as written, then as AWS CUR 2.0 spells it in its `resource_tags` map (every character
 * other than a letter or digit an underscore, as in `karpenter.sh/nodepool` →
 * `karpenter_sh_nodepool`; lower case too, in case the export lowers it), without duplicates.
 */
export const withCur2Spellings = (keys: readonly string[]) => [
  ...new Set(
    keys.flatMap((key) => {
      const normalised = key.replace(/[^A-Za-z0-9]/g, '_');
      return [key, normalised, normalised.toLowerCase()];
    }),
  ),
];

export function createAttribution(
  apps: readonly AppCostIdentity[],
  settings: AttributionSettings = DEFAULT_ATTRIBUTION,
) {
  const appTagKeys = withCur2Spellings(settings.appTagKeys);
  const teamTagKeys = withCur2Spellings(settings.teamTagKeys);
  const environmentTagKeys = withCur2Spellings(settings.environmentTagKeys);
  const byId = new Map(apps.map((a) => [a.id, a]));
  const byResource = new Map<string, AppCostIdentity>();
  for (const app of apps) for (const resource of app.cloudResourceIds) byResource.set(resource, app);
  return (line: Pick<CostLine, 'tags' | 'resourceId'>): Attributed => {
    const environment = firstTag(line.tags, environmentTagKeys);
    const tagged = firstTag(line.tags, appTagKeys);
    const byTag = tagged ? byId.get(tagged) : undefined;
    const app = byTag ?? (line.resourceId ? byResource.get(line.resourceId) : undefined);
    if (app) return { appId: app.id, via: byTag ? 'tag' : 'resource', team: app.teamName, environment };
    return { appId: null, via: null, team: firstTag(line.tags, teamTagKeys), environment };
  };
}

/** One row of the daily cost: a (day, app, resource, team, environment, category, currency, account) and its sum. */
export interface DailyCost {
  day: string;
  appId: string | null;
  resourceId: string | null;
  team: string | null;
  environment: string | null;
  serviceCategory: string;
  currency: string;
  account: string;
  cost: bigint;
  lines: number;
}

/**
 * Sums attributed lines into daily cost rows as they stream by, so that what is stored grows
 * with the apps, resources and days of a file, not with its lines; and the file's totals, per
 * currency, with the untagged part. `take()` hands over the rows summed so far (and forgets them)
 * for a caller that bounds its memory: the sums it takes are partial, a later line may add to
 * the same day, app and resource again.
 */
export function createAggregation(attribute: (line: CostLine) => Attributed) {
  const rows = new Map<string, DailyCost>();
  const totals = new Map<string, { total: bigint; untagged: bigint }>();
  const days = new Set<string>();
  const accounts = new Set<string>();
  let attributedByTag = 0;
  let attributedByResource = 0;
  let untaggedLines = 0;
  return {
    add(line: CostLine) {
      const who = attribute(line);
      if (who.via === 'tag') attributedByTag += 1;
      else if (who.via === 'resource') attributedByResource += 1;
      else untaggedLines += 1;
      const key = `${line.day}\u0000${who.appId ?? ''}\u0000${line.resourceId ?? ''}\u0000${who.team ?? ''}\u0000${who.environment ?? ''}\u0000${line.serviceCategory}\u0000${line.currency}\u0000${line.account}`;
      const row = rows.get(key);
      if (row) {
        row.cost += line.cost;
        row.lines += 1;
      } else {
        rows.set(key, {
          day: line.day,
          appId: who.appId,
          resourceId: own(line.resourceId),
          team: own(who.team),
          environment: own(who.environment),
          serviceCategory: own(line.serviceCategory),
          currency: own(line.currency),
          account: own(line.account),
          cost: line.cost,
          lines: 1,
        });
      }
      let total = totals.get(line.currency);
      if (!total) {
        total = { total: 0n, untagged: 0n };
        totals.set(own(line.currency), total);
      }
      total.total += line.cost;
      if (!who.appId) total.untagged += line.cost;
      if (!days.has(line.day)) days.add(own(line.day));
      if (!accounts.has(line.account)) accounts.add(own(line.account));
    },
    /** Daily rows summed and not yet taken. */
    get pending() {
      return rows.size;
    },
    /** The daily rows summed since the last take (partial sums), forgotten here. */
    take(): DailyCost[] {
      const taken = [...rows.values()];
      rows.clear();
      return taken;
    },
    /** The daily rows not taken, the totals, the days and accounts, and how lines were attributed. */
    result() {
      return {
        rows: [...rows.values()],
        totals,
        days: [...days].sort(),
        accounts: [...accounts].sort(),
        lines: { byTag: attributedByTag, byResource: attributedByResource, untagged: untaggedLines },
      };
    },
  };
}
