// The paths the charts' Ingresses route, checked against the services' descriptors: each
// service's `publicPaths` (packages/service-kit/src/service.ts) is the one list of what the
// product's host routes to it; the local platform's gateway routes by it, so a chart whose
// `ingressPaths` differ would make production route otherwise than development. And no two
// services may claim the same path on one host: which one gets it would be up to the ingress
// controller.
import type { PublicPath } from '@micro-oncall/service-kit';
import type { KubeObject } from './kubernetes.js';

interface RenderedIngress extends KubeObject {
  metadata?: { name?: unknown; labels?: Record<string, string> };
  spec?: {
    rules?: {
      host?: string;
      http?: { paths?: { path?: string; pathType?: string }[] };
    }[];
  };
}

/** One path one Ingress routes: the service it belongs to (app.kubernetes.io/name), on which host. */
export interface RoutedPath {
  service: string;
  ingress: string;
  host: string;
  path: string;
  pathType: string;
}

/** Every path of every Ingress in a render. */
export function routedPaths(objects: readonly KubeObject[]): RoutedPath[] {
  return (objects as RenderedIngress[])
    .filter((o) => o.kind === 'Ingress')
    .flatMap((ingress) =>
      (ingress.spec?.rules ?? []).flatMap((rule) =>
        (rule.http?.paths ?? []).map((p) => ({
          service: ingress.metadata?.labels?.['app.kubernetes.io/name'] ?? String(ingress.metadata?.name),
          ingress: String(ingress.metadata?.name),
          host: rule.host ?? '*',
          path: p.path ?? '',
          pathType: p.pathType ?? 'ImplementationSpecific',
        })),
      ),
    );
}

const PATH_TYPE: Record<PublicPath['match'], string> = { prefix: 'Prefix', exact: 'Exact' };
const describePath = (p: { path: string; pathType: string }) => `${p.path} (${p.pathType})`;

/**
 * Problems of a render's Ingress paths: an Ingress of a known service that routes other paths
 * than its descriptor's `publicPaths` (on any host), and two services routing the same path
 * on the same host.
 */
export function publicPathProblems(
  objects: readonly KubeObject[],
  descriptors: readonly { name: string; publicPaths: readonly PublicPath[] }[],
): string[] {
  const problems: string[] = [];
  const routed = routedPaths(objects);
  const byIngressHost = new Map<string, RoutedPath[]>();
  for (const r of routed) {
    const key = `${r.ingress}\n${r.host}`;
    byIngressHost.set(key, [...(byIngressHost.get(key) ?? []), r]);
  }
  for (const paths of byIngressHost.values()) {
    const first = paths[0]!;
    const descriptor = descriptors.find((d) => d.name === first.service);
    if (!descriptor) continue;
    const declared = descriptor.publicPaths.map((p) => describePath({ path: p.path, pathType: PATH_TYPE[p.match] }));
    const rendered = paths.map(describePath);
    const missing = declared.filter((p) => !rendered.includes(p));
    const extra = rendered.filter((p) => !declared.includes(p));
    if (missing.length > 0 || extra.length > 0) {
      problems.push(
        `Ingress/${first.ingress} (host ${first.host}) routes other paths than ${first.service}'s descriptor ` +
          `declares in publicPaths (services/${first.service}/src/service.ts): ` +
          [
            missing.length > 0 ? `not routed: ${missing.join(', ')}` : '',
            extra.length > 0 ? `routed but not declared: ${extra.join(', ')}` : '',
          ]
            .filter(Boolean)
            .join('; ') +
          ` — make the chart's ingressPaths (charts/${first.service}/templates/_helpers.tpl) and publicPaths the same`,
      );
    }
  }
  const owners = new Map<string, string>();
  for (const r of routed) {
    const key = `${r.host}\n${r.path}\n${r.pathType}`;
    const owner = owners.get(key);
    if (owner === undefined) owners.set(key, r.service);
    else if (owner !== r.service) {
      problems.push(`${describePath(r)} on host ${r.host} is routed to both ${owner} and ${r.service}`);
    }
  }
  return problems;
}
