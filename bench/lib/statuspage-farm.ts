/**
 * Many Statuspage v2 pages on loopback for the status-mapper scenario: each page is the
 * test-kit fake (`startFakeStatuspage`, the documented summary.json, weak ETag, 304 as an
 * option) on its own 127.0.0.1 port, as real pages are each their own host. The farm gives the
 * pages realistic sizes and behaviours (a few dozen components, some grouped, some open
 * incidents; ETag/304 or not; some slow; a few failing) from a fixed seed, and timestamps every
 * request each page receives.
 */
import { type FakeStatuspage, type FakeStatuspageComponent, startFakeStatuspage } from '@micro-oncall/test-kit';
import { prng } from './stats.js';

/**
 * How a page answers. `conditional`: 304 to a matching If-None-Match / If-Modified-Since;
 * `unconditional`: always 200 with the full body (validators sent but ignored); `slow`: 1–4 s
 * before a conditional answer; the rest fail on every poll: HTTP 500, a 200 with a truncated
 * JSON body, 429, or no answer within the client's timeout (`hang`).
 */
export type PageBehaviour =
  | 'conditional'
  | 'unconditional'
  | 'slow'
  | 'server-error'
  | 'truncated'
  | 'rate-limited'
  | 'hang';

export const FAILING: readonly PageBehaviour[] = ['server-error', 'truncated', 'rate-limited', 'hang'];

export interface FarmPage {
  /** The source id in status-mapper's sources file. */
  id: string;
  provider: string;
  behaviour: PageBehaviour;
  fake: FakeStatuspage;
  /** Leaf component ids (groups excluded). */
  leaves: string[];
  /** Size of the full summary.json at start, bytes. */
  bodyBytes: number;
  /** Arrival time (Date.now(), sampled every 100 ms) of each request, in the order of fake.requests. */
  arrivals: number[];
}

export interface Flip {
  page: FarmPage;
  component: string;
  to: string;
  /** Index into the page's requests from which an answer shows the change. */
  fromRequest: number;
}

export interface StatuspageFarm {
  pages: FarmPage[];
  /** The sources file for status-mapper (one entry per page). */
  sourcesYaml(intervalSeconds: number, jitterSeconds: number): string;
  /** Brings the arrival timestamps up to date (also done every 100 ms). */
  sample(): void;
  /** Requests received by all pages in [from, to) (Date.now() times). */
  requestsBetween(from: number, to: number): number;
  /** Changes one operational leaf component on each of `count` healthy pages (distinct pages). */
  flip(count: number): Flip[];
  /** Whether a page answered 200 to a request made after the flip (so the change could be seen). */
  observed(flip: Flip): boolean;
  stop(): Promise<void>;
}

const SERVICES = [
  'API',
  'Dashboard',
  'Webhooks',
  'Git Operations',
  'Authentication',
  'CDN',
  'DNS',
  'Email Delivery',
  'Search',
  'Billing',
  'Notifications',
  'Object Storage',
  'Compute',
  'Database',
  'Analytics',
  'Mobile Push',
  'SSO',
  'Support Portal',
];
const REGIONS = [
  'Frankfurt, Germany - (FRA)',
  'London, United Kingdom - (LHR)',
  'Amsterdam, Netherlands - (AMS)',
  'Ashburn, VA, United States - (IAD)',
  'San Jose, CA, United States - (SJC)',
  'Singapore - (SIN)',
  'Tokyo, Japan - (NRT)',
  'Sydney, Australia - (SYD)',
  'São Paulo, Brazil - (GRU)',
  'Johannesburg, South Africa - (JNB)',
];
const GROUPS = [
  'Core Services',
  'Europe',
  'North America',
  'Asia',
  'Oceania',
  'Latin America',
  'Africa',
  'Integrations',
];
const UPDATE =
  'We are investigating elevated error rates and latency for a subset of requests. Some customers may see ' +
  'timeouts or 5xx responses. Our engineers have identified a possible cause and are working on mitigation; ' +
  'we will provide another update within 30 minutes. ';

function componentsFor(random: () => number, count: number, grouped: boolean): FakeStatuspageComponent[] {
  const groupCount = grouped ? 2 + Math.floor(random() * 5) : 0;
  const out: FakeStatuspageComponent[] = [];
  for (let i = 0; i < count; i += 1) {
    const service = SERVICES[i % SERVICES.length]!;
    const region = REGIONS[Math.floor(i / SERVICES.length) % REGIONS.length]!;
    const name = i < SERVICES.length ? service : `${service} - ${region} #${i}`;
    out.push(grouped ? { name, group: GROUPS[i % groupCount]! } : { name });
  }
  return out;
}

/**
 * Starts `count` pages. Behaviours (fixed by the seed): 1 % failing (500, truncated JSON, 429,
 * no answer), 5 % slow, the rest 60 % with ETag/304 and 40 % without. Five pages are
 * Cloudflare-sized (~250 components in groups), the others have 20–60 components; a quarter
 * have one or two open incidents; 3 % have a component not operational from the start.
 */
export async function startStatuspageFarm(opts: { count: number; seed?: number }): Promise<StatuspageFarm> {
  const random = prng(opts.seed ?? 20_261_122);
  const n = opts.count;
  const behaviours: PageBehaviour[] = [];
  const failing = Math.max(FAILING.length, Math.round(n * 0.01));
  for (let i = 0; i < failing; i += 1) behaviours.push(FAILING[i % FAILING.length]!);
  for (let i = 0; i < Math.round(n * 0.05); i += 1) behaviours.push('slow');
  while (behaviours.length < n) behaviours.push(random() < 0.6 ? 'conditional' : 'unconditional');
  // Spread the kinds over the list (Fisher–Yates), so they are not polled in one batch.
  for (let i = behaviours.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [behaviours[i], behaviours[j]] = [behaviours[j]!, behaviours[i]!];
  }

  const pages: FarmPage[] = [];
  try {
    for (let i = 0; i < n; i += 1) {
      const behaviour = behaviours[i]!;
      const big = i % Math.max(1, Math.floor(n / 5)) === 7;
      const count = big ? 220 + Math.floor(random() * 60) : 20 + Math.floor(random() * 41);
      const number = String(i + 1).padStart(3, '0');
      const fake = await startFakeStatuspage({
        name: `Provider ${number}`,
        components: componentsFor(random, count, big || random() < 0.5),
        conditional: behaviour !== 'unconditional',
      });
      const summary = fake.summary() as { components: { id: string; group: boolean }[] };
      const leaves = summary.components.filter((c) => !c.group).map((c) => c.id);
      if (random() < 0.03) fake.setComponentStatus(leaves[0]!, 'degraded_performance');
      if (random() < 0.25) {
        for (let k = 0; k < (random() < 0.3 ? 2 : 1); k += 1) {
          fake.openIncident({
            name: `Elevated errors on ${SERVICES[k]} (${number})`,
            impact: k === 0 ? 'minor' : 'major',
            components: leaves.slice(k * 2, k * 2 + 2),
            body: UPDATE.repeat(1 + Math.floor(random() * 3)),
          });
        }
      }
      const bodyBytes = Buffer.byteLength(JSON.stringify(fake.summary()));
      const forever = 1_000_000;
      if (behaviour === 'slow') fake.failNext({ delayMs: 1000 + Math.floor(random() * 3000), times: forever });
      if (behaviour === 'server-error') fake.failNext({ status: 500, times: forever });
      if (behaviour === 'rate-limited') fake.failNext({ status: 429, times: forever });
      // Longer than status-mapper's POLL_TIMEOUT_MS (10 s); the fake then finds the client gone.
      if (behaviour === 'hang') fake.failNext({ delayMs: 30_000, times: forever });
      if (behaviour === 'truncated') {
        const body = JSON.stringify(fake.summary());
        fake.failNext({
          status: 200,
          headers: { 'content-type': 'application/json; charset=utf-8' },
          body: body.slice(0, Math.floor(body.length / 2)),
          times: forever,
        });
      }
      pages.push({
        id: `page-${number}`,
        provider: `Provider ${number}`,
        behaviour,
        fake,
        leaves,
        bodyBytes,
        arrivals: [],
      });
    }
  } catch (error) {
    await Promise.allSettled(pages.map((p) => p.fake.stop()));
    throw error;
  }

  const sample = () => {
    const now = Date.now();
    for (const page of pages) {
      while (page.arrivals.length < page.fake.requests.length) page.arrivals.push(now);
    }
  };
  const timer = setInterval(sample, 100);
  timer.unref();
  const flipped = new Set<string>();

  return {
    pages,
    sample,
    sourcesYaml(intervalSeconds, jitterSeconds) {
      const lines = ['# written by npm run bench: the fake Statuspage pages of the status-mapper scenario', 'pages:'];
      for (const p of pages) {
        lines.push(
          `  - id: ${p.id}`,
          `    provider: ${p.provider}`,
          `    url: ${p.fake.summaryUrl}`,
          `    intervalSeconds: ${intervalSeconds}`,
          `    jitterSeconds: ${jitterSeconds}`,
        );
      }
      return `${lines.join('\n')}\n`;
    },
    requestsBetween(from, to) {
      sample();
      let count = 0;
      for (const p of pages) for (const at of p.arrivals) if (at >= from && at < to) count += 1;
      return count;
    },
    flip(count) {
      sample();
      const candidates = pages.filter(
        (p) => (p.behaviour === 'conditional' || p.behaviour === 'unconditional') && !flipped.has(p.id),
      );
      const flips: Flip[] = [];
      const statuses = ['degraded_performance', 'partial_outage', 'major_outage'] as const;
      for (let i = 0; i < count && candidates.length > 0; i += 1) {
        const [page] = candidates.splice(Math.floor(random() * candidates.length), 1);
        const summary = page!.fake.summary() as { components: { id: string; status: string; group: boolean }[] };
        const leaf = summary.components.find((c) => !c.group && c.status === 'operational');
        if (!leaf) continue;
        const to = statuses[i % statuses.length]!;
        page!.fake.setComponentStatus(leaf.id, to);
        flipped.add(page!.id);
        flips.push({ page: page!, component: leaf.id, to, fromRequest: page!.fake.requests.length });
      }
      return flips;
    },
    observed(flip) {
      return flip.page.fake.requests.slice(flip.fromRequest).some((r) => r.status === 200);
    },
    async stop() {
      clearInterval(timer);
      await Promise.allSettled(pages.map((p) => p.fake.stop()));
    },
  };
}
