// Small helpers for the chart checks' messages.
import { relative } from 'node:path';
import { repoRoot } from '../tools.js';

export function rel(path: string): string {
  return relative(repoRoot, path) || '.';
}

export function tail(text: string, lines = 25): string {
  return text.trim().split('\n').slice(-lines).join('\n');
}

export function lastLine(text: string): string {
  return text.trim().split('\n').pop() ?? '';
}

/** The most specific line of helm's error output (the innermost schema error, or the fail message). */
export function firstError(text: string): string {
  const lines = text
    .trim()
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const schemaErrors = lines.filter((l) => l.startsWith('- at '));
  const detail = schemaErrors.at(-1) ?? lines.find((l) => /required|must not|is not/.test(l)) ?? lines[0] ?? '';
  return `refused: ${detail.replace(/^Error: execution error at \([^)]*\): /, '').slice(0, 200)}`;
}
