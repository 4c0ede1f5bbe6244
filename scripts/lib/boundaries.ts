/**
 * Module boundaries of the repository, as pure functions over file paths and source text (the
 * command is scripts/check-boundaries.ts):
 *
 * - a service never imports another service (by relative path or by package name);
 * - packages never import services, scripts/, bench/ or test/;
 * - scripts/, bench/ and test/ use a service only through its public entry,
 *   services/<name>/src/index.ts, never another file inside it.
 *
 * Imports are read with the TypeScript parser, so comments and strings that merely look like
 * imports do not count, and dynamic import('…') of a literal path does.
 */
import { posix } from 'node:path';
import ts from 'typescript';

export interface ImportRef {
  specifier: string;
  /** 1-based line of the specifier. */
  line: number;
}

export interface Violation {
  /** Repository-relative path of the importing file. */
  file: string;
  line: number;
  specifier: string;
  /** The rule broken and what to do instead. */
  message: string;
}

/** Workspace packages by name, each with its folder relative to the repository root. */
export type Workspace = Record<string, string>;

export type Area =
  | { kind: 'service'; name: string }
  | { kind: 'package'; name: string }
  | { kind: 'scripts' }
  | { kind: 'bench' }
  | { kind: 'test' }
  | { kind: 'other' };

const SCRIPT_KINDS: Record<string, ts.ScriptKind> = {
  '.ts': ts.ScriptKind.TS,
  '.mts': ts.ScriptKind.TS,
  '.cts': ts.ScriptKind.TS,
  '.tsx': ts.ScriptKind.TSX,
  '.js': ts.ScriptKind.JS,
  '.mjs': ts.ScriptKind.JS,
  '.cjs': ts.ScriptKind.JS,
  '.jsx': ts.ScriptKind.JSX,
};

/** The file extensions the check reads. */
export const SOURCE_EXTENSIONS = Object.keys(SCRIPT_KINDS);

const literalText = (node: ts.Node | undefined): string | undefined =>
  node && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) ? node.text : undefined;

/**
 * Every module a file refers to: import and export … from declarations (type-only ones too),
 * `import x = require('…')`, `import('…')` with a literal argument and `import('…').T` types.
 */
export function importsOf(fileName: string, text: string): ImportRef[] {
  const kind = SCRIPT_KINDS[posix.extname(fileName)] ?? ts.ScriptKind.TS;
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, kind);
  const found: ImportRef[] = [];
  const add = (node: ts.Node | undefined) => {
    const specifier = literalText(node);
    if (node === undefined || specifier === undefined) return;
    found.push({ specifier, line: source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1 });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) add(node.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference))
      add(node.moduleReference.expression);
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) add(node.arguments[0]);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) add(node.argument.literal);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** Which part of the repository a repository-relative path belongs to. */
export function areaOf(path: string): Area {
  const [top, name] = path.split('/');
  if (top === 'services' && name) return { kind: 'service', name };
  if (top === 'packages' && name) return { kind: 'package', name };
  if (top === 'scripts' || top === 'bench' || top === 'test') return { kind: top };
  return { kind: 'other' };
}

/**
 * The repository-relative path an import points at, or null for a module outside the
 * repository (node:, npm packages). `bare` is a workspace package imported by its name alone,
 * which means its declared entry point.
 */
export function resolveImport(
  from: string,
  specifier: string,
  workspace: Workspace,
): { path: string; bare: boolean } | null {
  if (specifier.startsWith('./') || specifier.startsWith('../') || specifier === '.' || specifier === '..') {
    return { path: posix.normalize(posix.join(posix.dirname(from), specifier)), bare: false };
  }
  for (const [name, dir] of Object.entries(workspace)) {
    if (specifier === name) return { path: dir, bare: true };
    if (specifier.startsWith(`${name}/`)) return { path: `${dir}/${specifier.slice(name.length + 1)}`, bare: false };
  }
  return null;
}

const PUBLIC_ENTRY = /^services\/[^/]+\/src\/index(\.(ts|js|mts|mjs))?$/;

function describe(area: Area): string {
  switch (area.kind) {
    case 'service':
      return `service ${area.name}`;
    case 'package':
      return `package ${area.name}`;
    default:
      return `${area.kind}/`;
  }
}

/** The rule one import breaks, as "rule, what to do instead", or null when it is allowed. */
export function ruleFor(from: string, specifier: string, workspace: Workspace): string | null {
  const target = resolveImport(from, specifier, workspace);
  if (!target) return null;
  const source = areaOf(from);
  const to = areaOf(target.path);
  if (source.kind === 'service') {
    if (to.kind === 'service' && to.name !== source.name)
      return `a service never imports another service (${source.name} → ${to.name}); move the shared code into packages/ (incident-model, service-kit) or talk to ${to.name} over Kafka or HTTP`;
    return null;
  }
  if (source.kind === 'package') {
    if (to.kind === 'service' || to.kind === 'scripts' || to.kind === 'bench' || to.kind === 'test')
      return `packages never import services, scripts/, bench/ or test/ (${source.name} → ${describe(to)}); move the code into the package, or have the caller pass it in`;
    return null;
  }
  if (source.kind === 'scripts' || source.kind === 'bench' || source.kind === 'test') {
    if (to.kind !== 'service' || target.bare || PUBLIC_ENTRY.test(target.path)) return null;
    const entry = posix.relative(posix.dirname(from), `services/${to.name}/src/index.js`);
    return `${source.kind}/ uses a service only through its public entry, not ${to.name}'s internals; import from '${entry.startsWith('.') ? entry : `./${entry}`}' (export what is needed there)`;
  }
  return null;
}

/** Every boundary violation in one file. */
export function checkFile(file: string, text: string, workspace: Workspace): Violation[] {
  const violations: Violation[] = [];
  for (const { specifier, line } of importsOf(file, text)) {
    const message = ruleFor(file, specifier, workspace);
    if (message) violations.push({ file, line, specifier, message });
  }
  return violations;
}

/** `file:line imports X — rule, what to do instead`. */
export const formatViolation = (v: Violation) => `${v.file}:${v.line} imports ${v.specifier} — ${v.message}`;
