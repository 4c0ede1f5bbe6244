import { createHash, randomBytes } from 'node:crypto';
import {
  type Answer,
  type Fault,
  header,
  type IncomingRequest,
  type RecordedRequest,
  startFakeServer,
} from './server.js';

/** Component statuses Statuspage documents (providers.md). */
export const STATUSPAGE_COMPONENT_STATUSES = [
  'operational',
  'degraded_performance',
  'partial_outage',
  'major_outage',
  'under_maintenance',
] as const;
export type StatuspageComponentStatus = (typeof STATUSPAGE_COMPONENT_STATUSES)[number];

const INCIDENT_STATUSES = ['investigating', 'identified', 'monitoring', 'resolved', 'postmortem'] as const;
const IMPACTS = ['none', 'minor', 'major', 'critical'] as const;

export interface FakeStatuspageComponent {
  id?: string;
  name: string;
  status?: StatuspageComponentStatus;
  /** Name of the group the component belongs to (groups are created as needed). */
  group?: string;
}

export interface FakeStatuspageIncident {
  id: string;
  name: string;
  status: (typeof INCIDENT_STATUSES)[number];
  impact: (typeof IMPACTS)[number];
  componentIds: string[];
  updates: { id: string; status: string; body: string; created_at: string }[];
  created_at: string;
  updated_at: string;
}

export interface FakeStatuspage {
  /** Base URL; the page is at `${url}/api/v2/summary.json`. */
  url: string;
  summaryUrl: string;
  /** Statuspage `page.id`. */
  pageId: string;
  requests: RecordedRequest[];
  /** Component id by name (groups included). */
  componentId(name: string): string;
  /**
   * Sets a component's status (by id or name). Only documented values unless `undocumented`
   * (to test that a client survives a value Statuspage may add one day).
   */
  setComponentStatus(idOrName: string, status: StatuspageComponentStatus, opts?: { undocumented?: false }): void;
  setComponentStatus(idOrName: string, status: string, opts: { undocumented: true }): void;
  /** Opens an incident on components (ids or names); it is listed until resolved. */
  openIncident(opts: {
    id?: string;
    name: string;
    impact?: FakeStatuspageIncident['impact'];
    components: string[];
    body: string;
  }): FakeStatuspageIncident;
  /** Resolves an incident: it leaves summary.json (which lists unresolved incidents only). */
  resolveIncident(id: string, body?: string): void;
  /** The documented summary.json body as served now. */
  summary(): Record<string, unknown>;
  /** A documented webhook "component update" body for the component's last change. */
  componentUpdatePayload(idOrName: string, oldStatus: string): Record<string, unknown>;
  /** A documented webhook "incident update" body. */
  incidentUpdatePayload(id: string): Record<string, unknown>;
  /** Answer 304 to a matching If-None-Match / If-Modified-Since (default on). */
  setConditional(on: boolean): void;
  failNext(fault: Fault): void;
  /** The next answer is a 200 with a JSON content type and a body cut in half. */
  truncateNext(): void;
  stop(): Promise<void>;
}

const statuspageId = () =>
  randomBytes(9)
    .toString('base64url')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, 'x')
    .slice(0, 12);

/**
 * A Statuspage v2 public page (Cloudflare, GitHub, …) on loopback. See ./README.md for the rules.
 */
export async function startFakeStatuspage(opts: {
  name: string;
  pageId?: string;
  components: FakeStatuspageComponent[];
  conditional?: boolean;
}): Promise<FakeStatuspage> {
  const pageId = opts.pageId ?? statuspageId();
  let conditional = opts.conditional ?? true;
  let updatedAt = new Date().toISOString();
  const created = '2019-03-01T12:00:00.000Z';
  interface Comp {
    id: string;
    name: string;
    status: string;
    group: boolean;
    group_id: string | null;
    children: string[];
    position: number;
    updated_at: string;
  }
  const comps: Comp[] = [];
  const groups = new Map<string, Comp>();
  for (const c of opts.components) {
    let groupId: string | null = null;
    if (c.group) {
      let g = groups.get(c.group);
      if (!g) {
        g = {
          id: statuspageId(),
          name: c.group,
          status: 'operational',
          group: true,
          group_id: null,
          children: [],
          position: comps.length + 1,
          updated_at: updatedAt,
        };
        groups.set(c.group, g);
        comps.push(g);
      }
      groupId = g.id;
    }
    const comp: Comp = {
      id: c.id ?? statuspageId(),
      name: c.name,
      status: c.status ?? 'operational',
      group: false,
      group_id: groupId,
      children: [],
      position: comps.length + 1,
      updated_at: updatedAt,
    };
    if (groupId) groups.get(c.group!)!.children.push(comp.id);
    comps.push(comp);
  }
  const incidents: FakeStatuspageIncident[] = [];
  const resolved: FakeStatuspageIncident[] = [];

  const find = (idOrName: string): Comp => {
    const c = comps.find((x) => x.id === idOrName) ?? comps.find((x) => x.name === idOrName);
    if (!c) throw new Error(`fake Statuspage: no component ${JSON.stringify(idOrName)}`);
    return c;
  };
  const touch = () => {
    // One second later at least, so Last-Modified (second resolution) moves too.
    updatedAt = new Date(Math.max(Date.now(), Date.parse(updatedAt) + 1000)).toISOString();
  };
  const worstOfChildren = (g: Comp) => {
    const order = ['operational', 'under_maintenance', 'degraded_performance', 'partial_outage', 'major_outage'];
    const statuses = g.children.map((id) => find(id).status);
    return statuses.reduce((w, s) => (order.indexOf(s) > order.indexOf(w) ? s : w), 'operational');
  };
  const componentBody = (c: Comp) => ({
    id: c.id,
    name: c.name,
    status: c.group ? worstOfChildren(c) : c.status,
    created_at: created,
    updated_at: c.updated_at,
    position: c.position,
    description: null,
    showcase: !c.group,
    start_date: null,
    group_id: c.group_id,
    page_id: pageId,
    group: c.group,
    only_show_if_degraded: false,
    ...(c.group ? { components: [...c.children] } : {}),
  });
  const incidentBody = (i: FakeStatuspageIncident) => ({
    id: i.id,
    name: i.name,
    status: i.status,
    created_at: i.created_at,
    updated_at: i.updated_at,
    monitoring_at: null,
    resolved_at: i.status === 'resolved' ? i.updated_at : null,
    impact: i.impact,
    shortlink: `https://stspg.io/${i.id.slice(0, 6)}`,
    started_at: i.created_at,
    page_id: pageId,
    incident_updates: [...i.updates].reverse().map((u) => ({
      id: u.id,
      status: u.status,
      body: u.body,
      incident_id: i.id,
      created_at: u.created_at,
      updated_at: u.created_at,
      display_at: u.created_at,
      affected_components: i.componentIds.map((id) => ({ code: id, name: find(id).name, new_status: find(id).status })),
    })),
    components: i.componentIds.map((id) => componentBody(find(id))),
  });
  const indicator = () => {
    const worst = comps.filter((c) => !c.group).map((c) => c.status);
    if (worst.includes('major_outage')) return { indicator: 'major', description: 'Partial System Outage' };
    if (worst.some((s) => s === 'partial_outage' || s === 'degraded_performance'))
      return { indicator: 'minor', description: 'Minor Service Outage' };
    return { indicator: 'none', description: 'All Systems Operational' };
  };
  const summary = () => ({
    page: {
      id: pageId,
      name: opts.name,
      url: `https://${pageId}.statuspage.io`,
      time_zone: 'Etc/UTC',
      updated_at: updatedAt,
    },
    status: indicator(),
    components: comps.map(componentBody),
    incidents: incidents.map(incidentBody),
    scheduled_maintenances: [],
  });

  function handle(req: IncomingRequest): Answer {
    if (req.method !== 'GET') return { status: 405, body: { error: 'method not allowed' } };
    if (req.path !== '/api/v2/summary.json') return { status: 404, body: { error: 'Not found' } };
    const body = JSON.stringify(summary());
    const etag = `W/"${createHash('sha1').update(body).digest('hex')}"`;
    const lastModified = new Date(updatedAt).toUTCString();
    const headers = { etag, 'last-modified': lastModified, 'cache-control': 'max-age=0, private, must-revalidate' };
    if (conditional) {
      const inm = header(req, 'if-none-match');
      const ims = header(req, 'if-modified-since');
      const notModified = inm
        ? inm.split(',').some((t) => t.trim() === etag)
        : ims !== undefined && !Number.isNaN(Date.parse(ims)) && Date.parse(ims) >= Date.parse(lastModified);
      if (notModified) return { status: 304, headers };
    }
    return { status: 200, headers, body: JSON.parse(body) };
  }

  const server = await startFakeServer({
    handle,
    faultBody: (status) => (status === 429 ? { error: 'Rate limited' } : `<html><body>${status}</body></html>`),
  });

  const fake: FakeStatuspage = {
    url: server.url,
    summaryUrl: `${server.url}/api/v2/summary.json`,
    pageId,
    requests: server.requests,
    componentId: (name) => find(name).id,
    setComponentStatus(idOrName: string, status: string, o?: { undocumented?: boolean }) {
      if (!o?.undocumented && !(STATUSPAGE_COMPONENT_STATUSES as readonly string[]).includes(status)) {
        throw new Error(`fake Statuspage: ${status} is not a documented component status`);
      }
      const c = find(idOrName);
      if (c.group) throw new Error('fake Statuspage: a group takes the worst status of its components');
      touch();
      c.status = status;
      c.updated_at = updatedAt;
    },
    openIncident(o) {
      touch();
      const incident: FakeStatuspageIncident = {
        id: o.id ?? statuspageId(),
        name: o.name,
        status: 'investigating',
        impact: o.impact ?? 'major',
        componentIds: o.components.map((c) => find(c).id),
        updates: [{ id: statuspageId(), status: 'investigating', body: o.body, created_at: updatedAt }],
        created_at: updatedAt,
        updated_at: updatedAt,
      };
      incidents.push(incident);
      return incident;
    },
    resolveIncident(id, body = 'This incident has been resolved.') {
      const index = incidents.findIndex((i) => i.id === id);
      if (index < 0) throw new Error(`fake Statuspage: no open incident ${id}`);
      touch();
      const [incident] = incidents.splice(index, 1);
      incident!.status = 'resolved';
      incident!.updated_at = updatedAt;
      incident!.updates.push({ id: statuspageId(), status: 'resolved', body, created_at: updatedAt });
      resolved.push(incident!);
    },
    summary,
    componentUpdatePayload(idOrName, oldStatus) {
      const c = find(idOrName);
      return {
        meta: {
          unsubscribe: `${server.url}/unsubscribe`,
          documentation: 'https://doers.statuspage.io/customer-notifications/webhooks/',
        },
        page: { id: pageId, status_indicator: indicator().indicator, status_description: indicator().description },
        component_update: {
          created_at: c.updated_at,
          new_status: c.status,
          old_status: oldStatus,
          id: statuspageId(),
          component_id: c.id,
        },
        component: { created_at: created, id: c.id, name: c.name, status: c.status },
      };
    },
    incidentUpdatePayload(id) {
      const incident = [...incidents, ...resolved].find((i) => i.id === id);
      if (!incident) throw new Error(`fake Statuspage: no incident ${id}`);
      return {
        meta: {
          unsubscribe: `${server.url}/unsubscribe`,
          documentation: 'https://doers.statuspage.io/customer-notifications/webhooks/',
        },
        page: { id: pageId, status_indicator: indicator().indicator, status_description: indicator().description },
        incident: incidentBody(incident),
      };
    },
    setConditional(on) {
      conditional = on;
    },
    failNext: server.failNext,
    truncateNext() {
      const body = JSON.stringify(summary());
      server.failNext({
        status: 200,
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: body.slice(0, Math.floor(body.length / 2)),
      });
    },
    stop: server.stop,
  };
  return fake;
}
