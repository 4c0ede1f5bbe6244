import { describe, expect, it } from 'vitest';
import type { KubeObject } from './kubernetes.js';
import { publicPathProblems, routedPaths } from './public-paths.js';

const ingress = (service: string, host: string, paths: [string, string][]): KubeObject =>
  ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: `micro-oncall-${service}`, labels: { 'app.kubernetes.io/name': service } },
    spec: { rules: [{ host, http: { paths: paths.map(([path, pathType]) => ({ path, pathType })) } }] },
  }) as KubeObject;

const descriptors = [
  {
    name: 'escalation',
    publicPaths: [
      { path: '/', match: 'exact' as const },
      { path: '/v1', match: 'prefix' as const },
    ],
  },
  { name: 'status-mapper', publicPaths: [{ path: '/status', match: 'prefix' as const }] },
];

describe(publicPathProblems.name, () => {
  it('accepts Ingresses that route exactly what the descriptors declare', () => {
    const objects = [
      ingress('escalation', 'oncall.example.com', [
        ['/', 'Exact'],
        ['/v1', 'Prefix'],
      ]),
      ingress('status-mapper', 'oncall.example.com', [['/status', 'Prefix']]),
    ];
    expect(routedPaths(objects)).toHaveLength(3);
    expect(publicPathProblems(objects, descriptors)).toEqual([]);
  });

  it("names a chart whose ingressPaths differ from its descriptor's publicPaths", () => {
    const objects = [
      ingress('escalation', 'oncall.example.com', [
        ['/', 'Prefix'],
        ['/v1', 'Prefix'],
        ['/metrics', 'Prefix'],
      ]),
    ];
    const [problem, ...rest] = publicPathProblems(objects, descriptors);
    expect(rest).toEqual([]);
    expect(problem).toContain(
      "Ingress/micro-oncall-escalation (host oncall.example.com) routes other paths than escalation's",
    );
    expect(problem).toContain('not routed: / (Exact)');
    expect(problem).toContain('routed but not declared: / (Prefix), /metrics (Prefix)');
  });

  it('refuses two services routing the same path on the same host', () => {
    const objects = [
      ingress('status-mapper', 'oncall.example.com', [['/status', 'Prefix']]),
      ingress('newcomer', 'oncall.example.com', [['/status', 'Prefix']]),
      // Another host is another product: no clash.
      ingress('newcomer', 'other.example.com', [['/v1', 'Prefix']]),
    ];
    expect(publicPathProblems(objects, descriptors)).toEqual([
      '/status (Prefix) on host oncall.example.com is routed to both status-mapper and newcomer',
    ]);
  });
});
