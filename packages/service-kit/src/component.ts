/** The one contract every long-lived part of a service shares (pool, producer, consumer, …). */
export interface Component {
  readonly id: string;
  start?(): Promise<void>;
  stop(): Promise<void>;
  /** Cheap check used by readiness; resolves healthy or not, with an optional reason. */
  healthcheck(): Promise<HealthStatus>;
}

export type HealthStatus = { healthy: true } | { healthy: false; reason: string };

export async function checkAll(components: readonly Component[], timeoutMs = 2000) {
  const results = await Promise.all(
    components.map(async (c) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<HealthStatus>((resolve) => {
        timer = setTimeout(() => resolve({ healthy: false, reason: `no answer within ${timeoutMs} ms` }), timeoutMs);
      });
      const status = await Promise.race([
        c.healthcheck().catch((e: unknown): HealthStatus => ({ healthy: false, reason: (e as Error).message })),
        timeout,
      ]);
      clearTimeout(timer);
      return [c.id, status] as const;
    }),
  );
  return { healthy: results.every(([, s]) => s.healthy), checks: Object.fromEntries(results) };
}
