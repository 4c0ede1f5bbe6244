import { createHash } from 'node:crypto';
import { InputError } from '@micro-oncall/service-kit';
import { z } from 'zod';

/*
 * Evidence pipelines post for an app's controls: an SBOM (CycloneDX 1.5/1.6 JSON or SPDX 2.3
 * JSON), a secrets or dependency scan (SARIF 2.1.0), or the SSO client id. Each document is
 * checked for what its specification requires (field-level facts in providers-2.md), unknown
 * members are tolerated, and only a summary and the document's sha256 are kept: the policy
 * decides what passes (a scan with error-level results fails secrets scanning).
 */

export const EvidenceKind = z.enum(['sbom', 'secret_scan', 'dependency_scan', 'sso']);
export type EvidenceKind = z.infer<typeof EvidenceKind>;

/**
 * How long evidence of each kind counts (days since it was posted), unless configured otherwise
 * (`EVIDENCE_MAX_AGE_DAYS`, e.g. `secret_scan=14`): a scan describes the code of its day, an SBOM its build, an
 * SSO client id changes rarely.
 */
export const DEFAULT_EVIDENCE_MAX_AGE_DAYS: Record<EvidenceKind, number> = {
  sbom: 90,
  secret_scan: 30,
  dependency_scan: 30,
  sso: 365,
};

const DAY_MS = 86_400_000;

/** What the policy reads about a document's age: stale when `age_days` > `max_age_days`. */
export interface EvidenceAge {
  received_at: string;
  /** Whole days since it was posted (a day short of the maximum counts as fresh). */
  age_days: number;
  max_age_days: number;
}

export function evidenceAge(receivedAt: string, now: Date, maxAgeDays: number): EvidenceAge {
  const age = Math.max(0, Math.floor((now.getTime() - new Date(receivedAt).getTime()) / DAY_MS));
  return { received_at: new Date(receivedAt).toISOString(), age_days: age, max_age_days: maxAgeDays };
}

/** When evidence posted at `receivedAt` stops counting. */
export const staleFrom = (receivedAt: string, maxAgeDays: number) =>
  new Date(new Date(receivedAt).getTime() + (maxAgeDays + 1) * DAY_MS);

const Document = z.record(z.string(), z.unknown());

export const EvidenceBody = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('sbom'), document: Document }).strict(),
  z.object({ kind: z.literal('secret_scan'), document: Document }).strict(),
  z.object({ kind: z.literal('dependency_scan'), document: Document }).strict(),
  z.object({ kind: z.literal('sso'), clientId: z.string().trim().min(1).max(256) }).strict(),
]);
export type EvidenceBody = z.infer<typeof EvidenceBody>;

export interface EvidenceSummary {
  kind: EvidenceKind;
  /** `CycloneDX 1.6`, `SPDX-2.3`, `SARIF 2.1.0`, `oidc-client` */
  format: string;
  summary: Record<string, unknown>;
  sha256: string;
}

// CycloneDX 1.5/1.6: only bomFormat and specVersion are required; components need type and name.
const CycloneDx = z.object({
  bomFormat: z.literal('CycloneDX'),
  specVersion: z.string().regex(/^1\.\d+$/, 'a CycloneDX version such as "1.6"'),
  serialNumber: z
    .string()
    .regex(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
    .optional(),
  version: z.number().int().min(1).optional(),
  components: z.array(z.object({ type: z.string().min(1), name: z.string().min(1) })).optional(),
});

// SPDX 2.3: the document's creation info and each package's id, name and download location.
const Spdx = z.object({
  spdxVersion: z.string().regex(/^SPDX-2\.\d$/, 'an SPDX 2.x version such as "SPDX-2.3"'),
  dataLicense: z.literal('CC0-1.0'),
  SPDXID: z.literal('SPDXRef-DOCUMENT'),
  name: z.string().min(1),
  documentNamespace: z.string().min(1),
  creationInfo: z.object({ created: z.string().min(1), creators: z.array(z.string()).min(1) }),
  packages: z
    .array(
      z.object({
        SPDXID: z.string().regex(/^SPDXRef-[A-Za-z0-9.-]+$/),
        name: z.string().min(1),
        downloadLocation: z.string().min(1),
      }),
    )
    .optional(),
});

const SarifLevel = z.enum(['none', 'note', 'warning', 'error']);
// SARIF 2.1.0: version, runs[].tool.driver.name, results[].message with text or id.
const Sarif = z.object({
  version: z.literal('2.1.0'),
  runs: z.array(
    z.object({
      tool: z.object({
        driver: z.object({
          name: z.string().min(1),
          rules: z
            .array(
              z.object({
                id: z.string().min(1),
                defaultConfiguration: z.object({ level: SarifLevel.optional() }).optional(),
              }),
            )
            .optional(),
        }),
      }),
      results: z
        .array(
          z.object({
            ruleId: z.string().optional(),
            level: SarifLevel.optional(),
            message: z
              .object({ text: z.string().optional(), id: z.string().optional() })
              .refine((m) => m.text !== undefined || m.id !== undefined, 'a message needs text or id'),
          }),
        )
        .optional(),
    }),
  ),
});

const sha256 = (value: unknown) => createHash('sha256').update(JSON.stringify(value)).digest('hex');

function parse<T>(schema: z.ZodType<T>, document: unknown, what: string): T {
  const parsed = schema.safeParse(document);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 10).map((i) => ({
      path: ['document', ...i.path].join('.'),
      message: i.message,
    }));
    throw new InputError(`not a valid ${what}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, {
      issues,
    });
  }
  return parsed.data;
}

/** Validates and summarises posted evidence; InputError names the offending field. */
export function summariseEvidence(body: EvidenceBody): EvidenceSummary {
  switch (body.kind) {
    case 'sso':
      return {
        kind: 'sso',
        format: 'oidc-client',
        summary: { client_id: body.clientId },
        sha256: sha256(body.clientId),
      };
    case 'sbom': {
      const doc = body.document;
      if (doc.bomFormat !== undefined) {
        const bom = parse(CycloneDx, doc, 'CycloneDX SBOM');
        return {
          kind: 'sbom',
          format: `CycloneDX ${bom.specVersion}`,
          summary: {
            format: 'CycloneDX',
            spec_version: bom.specVersion,
            components: bom.components?.length ?? 0,
            ...(bom.serialNumber ? { serial_number: bom.serialNumber } : {}),
          },
          sha256: sha256(doc),
        };
      }
      if (doc.spdxVersion !== undefined) {
        const spdx = parse(Spdx, doc, 'SPDX document');
        return {
          kind: 'sbom',
          format: spdx.spdxVersion,
          summary: {
            format: 'SPDX',
            spec_version: spdx.spdxVersion,
            components: spdx.packages?.length ?? 0,
            document_namespace: spdx.documentNamespace,
          },
          sha256: sha256(doc),
        };
      }
      throw new InputError(
        'not an SBOM this registry reads: send CycloneDX JSON (bomFormat "CycloneDX") or SPDX 2.3 JSON (spdxVersion "SPDX-2.3")',
        { issues: [{ path: 'document', message: 'neither bomFormat nor spdxVersion' }] },
      );
    }
    case 'secret_scan':
    case 'dependency_scan': {
      const sarif = parse(Sarif, body.document, 'SARIF 2.1.0 log');
      const byLevel: Record<string, number> = { error: 0, warning: 0, note: 0, none: 0 };
      const ruleCounts = new Map<string, number>();
      for (const run of sarif.runs) {
        const defaults = new Map(
          (run.tool.driver.rules ?? []).map((r) => [r.id, r.defaultConfiguration?.level ?? 'warning']),
        );
        for (const result of run.results ?? []) {
          // A result's level defaults to its rule's default level, then to warning (SARIF §3.27.10).
          const level = result.level ?? (result.ruleId ? defaults.get(result.ruleId) : undefined) ?? 'warning';
          byLevel[level] = (byLevel[level] ?? 0) + 1;
          if (result.ruleId) ruleCounts.set(result.ruleId, (ruleCounts.get(result.ruleId) ?? 0) + 1);
        }
      }
      const tools = [...new Set(sarif.runs.map((r) => r.tool.driver.name))];
      return {
        kind: body.kind,
        format: 'SARIF 2.1.0',
        summary: {
          tool: tools.join(', ') || 'unknown',
          results_by_level: byLevel,
          top_rules: [...ruleCounts]
            .sort((a, b) => b[1] - a[1])
            .slice(0, 10)
            .map(([rule, count]) => ({ rule, count })),
        },
        sha256: sha256(body.document),
      };
    }
  }
}
