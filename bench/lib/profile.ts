import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: CpuProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileEntry {
  name: string;
  ms: number;
  /** Share of the busy (non-idle) time in the window, in percent. */
  share: number;
}

export interface ProfileSummary {
  file: string;
  /** Whether only the samples inside the load window were used (else the whole process life). */
  windowed: boolean;
  wallMs: number;
  busyMs: number;
  idleMs: number;
  topFunctions: ProfileEntry[];
  byOrigin: ProfileEntry[];
  /** Time with a workspace function anywhere on the stack (its synchronous work and callees). */
  inclusiveApp: ProfileEntry[];
  /**
   * Each sample charged to the innermost library or workspace code on its stack (so a socket
   * write issued by the PostgreSQL client counts as PostgreSQL client), grouped into components.
   */
  byComponent: ProfileEntry[];
}

/** Which component an origin belongs to; node core and V8 are used only when nothing else is on the stack. */
const COMPONENTS: Record<string, string> = {
  pg: 'PostgreSQL client (pg, drizzle)',
  'pg-protocol': 'PostgreSQL client (pg, drizzle)',
  'pg-pool': 'PostgreSQL client (pg, drizzle)',
  'pg-types': 'PostgreSQL client (pg, drizzle)',
  'drizzle-orm': 'PostgreSQL client (pg, drizzle)',
  kafkajs: 'Kafka client (kafkajs)',
  zod: 'normalisation and validation (incident-model, zod)',
  'packages/incident-model': 'normalisation and validation (incident-model, zod)',
  express: 'Express, router and middleware',
  router: 'Express, router and middleware',
  'body-parser': 'Express, router and middleware',
  'raw-body': 'Express, router and middleware',
  'express-rate-limit': 'Express, router and middleware',
  'on-finished': 'Express, router and middleware',
  finalhandler: 'Express, router and middleware',
  'type-is': 'Express, router and middleware',
  'content-type': 'Express, router and middleware',
  parseurl: 'Express, router and middleware',
  'media-typer': 'Express, router and middleware',
  'mime-types': 'Express, router and middleware',
  'iconv-lite': 'Express, router and middleware',
  forwarded: 'Express, router and middleware',
  etag: 'Express, router and middleware',
  'path-to-regexp': 'Express, router and middleware',
  'proxy-addr': 'Express, router and middleware',
  'merge-descriptors': 'Express, router and middleware',
  accepts: 'Express, router and middleware',
  negotiator: 'Express, router and middleware',
  debug: 'Express, router and middleware',
  'fast-redact': 'logging (pino)',
  'sonic-boom': 'logging (pino)',
  'packages/service-kit': 'service-kit (HTTP app, producer queue, errors)',
  'prom-client': 'metrics (prom-client)',
  pino: 'logging (pino)',
  '@opentelemetry/api': 'tracing (OpenTelemetry API)',
  '@opentelemetry/core': 'tracing (OpenTelemetry API)',
  jose: 'JWT verification (jose)',
  tsx: 'tsx loader',
};

function coreComponent(origin: string): string {
  if (/^node:(_http|net|stream|streams|stream_base_commons|dns|timers|events|buffer)/.test(origin))
    return 'Node HTTP, sockets, streams and events';
  if (origin === 'node:crypto') return 'Node crypto';
  if (origin.startsWith('node:')) return 'Node core, other';
  return 'V8: GC, compiler and builtins';
}

/**
 * `node --cpu-prof` writes one file per thread (`CPU.<date>.<time>.<pid>.<thread>.<seq>`); with
 * `--import tsx` thread 1 is the module loader. The main thread's file is the one wanted.
 */
export function mainThreadProfile(dir: string, pid: number): string | undefined {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile') && f.includes(`.${pid}.`));
  const main = files.find((f) => new RegExp(`\\.${pid}\\.0\\.\\d+\\.cpuprofile$`).test(f)) ?? files[0];
  return main ? join(dir, main) : undefined;
}

/**
 * The npm package a file belongs to. In pnpm's store the folder names it (`.pnpm/<name>@<version>`,
 * a scope written `@scope+name`): files are reported by their real paths, and a package's own
 * source maps may point outside its folder (drizzle-orm's give `node_modules/src/…`).
 */
function packageOf(path: string): string | undefined {
  const store = /node_modules\/\.pnpm\/((?:@[^+/]+\+)?[^@/]+)@/.exec(path);
  if (store) return store[1]!.replace('+', '/');
  return /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path)?.[1];
}

/** Where a function lives: an npm package, a workspace folder, Node's own code, or V8. */
function originOf(url: string, functionName: string, repoRoot: string): string {
  if (!url) {
    if (functionName.startsWith('(')) return functionName; // (garbage collector), (program), (idle)
    return '(native: V8 builtins, syscalls)';
  }
  if (url.startsWith('node:')) {
    const mod = url.slice(5).replace(/^internal\//, '');
    return `node:${mod.split('/')[0] ?? mod}`;
  }
  const path = url.replace(/^file:\/\//, '');
  const pkg = packageOf(path);
  if (pkg) return pkg;
  const parts = relative(repoRoot, path).split('/');
  if (parts[0] === 'packages' || parts[0] === 'services') return `${parts[0]}/${parts[1]}`;
  return parts.join('/');
}

/**
 * Function name and place. TypeScript files are transformed by tsx onto very few lines, so
 * their line numbers mean nothing and only the file is shown (also for frames mapped back from a
 * bundle, to keep one label per function whichever way the service ran); JavaScript keeps its lines.
 */
function label(frame: CpuProfileNode['callFrame'], repoRoot: string): string {
  const name = frame.functionName || '(anonymous)';
  if (!frame.url) return name;
  const path = frame.url.replace(/^file:\/\//, '');
  const inPkg = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?(.+)$/.exec(path);
  const pkg = packageOf(path);
  const inPkgShown = inPkg && pkg && !inPkg[1]!.startsWith(`${pkg}/`) ? `${pkg}: ${inPkg[1]}` : inPkg?.[1];
  const shown = inPkgShown ?? (frame.url.startsWith('node:') ? frame.url : relative(repoRoot, path));
  return /\.[cm]?ts$/.test(path) ? `${name} ${shown}` : `${name} ${shown}:${frame.lineNumber + 1}`;
}

const isWorkspace = (url: string, repoRoot: string) =>
  url.startsWith(`file://${repoRoot}/`) && !url.includes('/node_modules/');

/**
 * Frames of bundled code (services run as esbuild bundles) put back where their code came from:
 * a frame in `x.mjs` with an `x.mjs.map` beside it gets the original file, line and column (and
 * its name where V8 had none), so that functions, packages and workspace folders are named as
 * in the sources. Frames without a map, or a position the map does not cover, stay as they are.
 * The bundle must still exist (the bench summarises before its run's bundles are removed).
 */
export function mapBundledFrames(nodes: CpuProfileNode[]): void {
  const maps = new Map<string, { map: SourceMap; dir: string } | null>();
  const mapOf = (url: string) => {
    let entry = maps.get(url);
    if (entry !== undefined) return entry;
    entry = null;
    try {
      const path = fileURLToPath(url);
      if (existsSync(`${path}.map`)) {
        entry = { map: new SourceMap(JSON.parse(readFileSync(`${path}.map`, 'utf8'))), dir: dirname(path) };
      }
    } catch {
      // An unreadable or malformed map: the frames keep the bundle's places.
    }
    maps.set(url, entry);
    return entry;
  };
  for (const node of nodes) {
    const frame = node.callFrame;
    if (!frame.url.startsWith('file://') || !/\.[cm]?js$/.test(frame.url)) continue;
    const found = mapOf(frame.url);
    if (!found) continue;
    const at = found.map.findEntry(frame.lineNumber, frame.columnNumber) as {
      originalSource?: string;
      originalLine?: number;
      originalColumn?: number;
      name?: string;
    };
    if (!at.originalSource) continue;
    const url = at.originalSource.startsWith('file://')
      ? at.originalSource
      : pathToFileURL(resolve(found.dir, at.originalSource)).href;
    node.callFrame = {
      functionName: frame.functionName || at.name || '',
      url,
      lineNumber: at.originalLine ?? 0,
      columnNumber: at.originalColumn ?? 0,
    };
  }
}

/**
 * Self time per function and per origin from a V8 .cpuprofile: each sample's time is charged
 * to the function on top of the stack. With `window` (CLOCK_MONOTONIC µs, the clock both V8's
 * profiler and process.hrtime use) only samples inside it count, so start-up is left out.
 */
export function summariseCpuProfile(
  file: string,
  repoRoot: string,
  window?: { fromUs: number; toUs: number },
  top = 15,
): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  mapBundledFrames(profile.nodes);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const labels = new Map<number, string>();
  const labelOf = (id: number) => {
    let l = labels.get(id);
    if (l === undefined) {
      l = label(byId.get(id)!.callFrame, repoRoot);
      labels.set(id, l);
    }
    return l;
  };

  let t = profile.startTime;
  const inWindow = (at: number) => !window || (at >= window.fromUs && at <= window.toUs);
  let windowed = false;
  if (window) {
    // Use the window only if it overlaps the profile; otherwise report the whole life.
    windowed = window.fromUs < profile.endTime && window.toUs > profile.startTime;
  }
  const fns = new Map<string, number>();
  const origins = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const components = new Map<string, number>();
  const componentOf = new Map<number, string>();
  /** Innermost non-core component on the stack of node `id`, else the innermost core one. */
  const component = (id: number): string => {
    const known = componentOf.get(id);
    if (known) return known;
    let core: string | undefined;
    let found: string | undefined;
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const f = byId.get(at)!.callFrame;
      const origin = originOf(f.url, f.functionName, repoRoot);
      if (!f.url) continue;
      if (origin.startsWith('node:')) {
        core ??= coreComponent(origin);
        continue;
      }
      found = COMPONENTS[origin] ?? (origin.startsWith('services/') ? `${origin} (route and service code)` : origin);
      break;
    }
    const leaf = byId.get(id)!.callFrame;
    const result =
      found ??
      core ??
      (leaf.functionName === '(garbage collector)' ? 'V8: garbage collector' : 'V8: GC, compiler and builtins');
    componentOf.set(id, result);
    return result;
  };
  let idle = 0;
  let total = 0;
  for (let i = 0; i < profile.samples.length; i += 1) {
    t += profile.timeDeltas[i] ?? 0;
    // timeDeltas[i + 1] is the time until the next sample: the time spent in sample i.
    const us = profile.timeDeltas[i + 1] ?? 0;
    if (windowed && !inWindow(t)) continue;
    const id = profile.samples[i]!;
    const frame = byId.get(id)!.callFrame;
    total += us;
    if (frame.functionName === '(idle)') {
      idle += us;
      continue;
    }
    const name = labelOf(id);
    fns.set(name, (fns.get(name) ?? 0) + us);
    const origin = originOf(frame.url, frame.functionName, repoRoot);
    origins.set(origin, (origins.get(origin) ?? 0) + us);
    const comp = component(id);
    components.set(comp, (components.get(comp) ?? 0) + us);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const f = byId.get(at)!.callFrame;
      if (!isWorkspace(f.url, repoRoot) || !f.functionName) continue;
      const l = labelOf(at);
      if (seen.has(l)) continue;
      seen.add(l);
      inclusive.set(l, (inclusive.get(l) ?? 0) + us);
    }
  }
  const busy = total - idle;
  const rank = (m: Map<string, number>, n: number): ProfileEntry[] =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({ name, ms: Math.round(us / 1000), share: Math.round((us / busy) * 1000) / 10 }));
  return {
    file,
    windowed,
    wallMs: Math.round(total / 1000),
    busyMs: Math.round(busy / 1000),
    idleMs: Math.round(idle / 1000),
    topFunctions: rank(fns, top),
    byOrigin: rank(origins, top),
    inclusiveApp: rank(inclusive, top),
    byComponent: rank(components, 30),
  };
}
