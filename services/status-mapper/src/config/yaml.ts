import { readFileSync } from 'node:fs';
import { isNode, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';

/** A configuration file that does not parse or validate; every message names the file and the line. */
export class ConfigFileError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigFileError';
  }
}

/**
 * Parses YAML `text` and validates it with `schema`. Syntax errors and schema issues come back
 * as one ConfigFileError whose lines read `line 12: mappings.cdn.services: expected array`.
 */
export function parseYamlWith<S extends z.ZodType>(schema: S, text: string, file: string): z.output<S> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigFileError(
      file,
      doc.errors.map((e) => `line ${lineCounter.linePos(e.pos[0]).line}: ${e.message.split('\n')[0]}`),
    );
  }
  const result = schema.safeParse(doc.toJS());
  if (result.success) return result.data;
  const problems = result.error.issues.slice(0, 20).map((issue) => {
    const path = issue.path.map(String);
    const line = lineOf(doc, lineCounter, path);
    return `${line ? `line ${line}: ` : ''}${path.join('.') || '(top level)'}: ${issue.message}`;
  });
  throw new ConfigFileError(file, problems);
}

/** Reads and validates a YAML file (see parseYamlWith). */
export function readYamlFile<S extends z.ZodType>(schema: S, file: string): z.output<S> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigFileError(file, [
      `cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    ]);
  }
  return parseYamlWith(schema, text, file);
}

/** The line of the deepest node on `path` that exists (the key's line when the value is missing). */
function lineOf(doc: ReturnType<typeof parseDocument>, counter: LineCounter, path: string[]): number | null {
  for (let n = path.length; n >= 0; n -= 1) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    if (isNode(node) && node.range) return counter.linePos(node.range[0]).line;
  }
  return null;
}
