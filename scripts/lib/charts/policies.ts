// Conftest over rendered manifests with the policies in policies/, and the rule ids they declare.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, run } from '../tools.js';
import { tail } from './output.js';

export const policiesDir = join(repoRoot, 'policies');

export interface ConftestResult {
  code: number;
  failures: string[];
  raw: string;
}

/** `conftest test --combine` over all policy namespaces, returning each failure as one line. */
export async function conftest(conftestBin: string, files: string[]): Promise<ConftestResult> {
  const result = await run(conftestBin, [
    'test',
    '--combine',
    '--all-namespaces',
    '--no-color',
    '--output',
    'json',
    '--policy',
    policiesDir,
    ...files,
  ]);
  let parsed: { namespace: string; failures?: { msg: string }[] }[];
  try {
    parsed = JSON.parse(result.stdout) as typeof parsed;
  } catch {
    return { code: result.code, failures: [`conftest failed (exit ${result.code}): ${tail(result.output)}`], raw: '' };
  }
  const failures = parsed.flatMap((r) => (r.failures ?? []).map((f) => f.msg)).sort();
  return { code: result.code, failures, raw: result.stdout };
}

export function failureLines(result: ConftestResult): string[] {
  return result.failures.length > 0 ? result.failures : [`conftest exited ${result.code}`];
}

/** The rule ids declared in the policies' header comments (`# MO-K8S-001: title`). */
export function policyIds(): string[] {
  const ids: string[] = [];
  for (const entry of readdirSync(policiesDir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    for (const file of readdirSync(join(policiesDir, entry.name))) {
      if (!file.endsWith('.rego') || file.endsWith('_test.rego')) continue;
      const match = /^# (MO-K8S-\d{3}):/m.exec(readFileSync(join(policiesDir, entry.name, file), 'utf8'));
      if (match?.[1]) ids.push(match[1]);
    }
  }
  return ids.sort();
}
