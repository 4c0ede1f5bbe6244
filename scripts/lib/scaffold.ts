import { spawnSync } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';

export interface ScaffoldOptions {
  name: string;
  description?: string;
  /** Repository root to write into (a scratch clone in the scaffold test). */
  root?: string;
  /** Link into the workspace and generate the migration, chart schema and contracts (default true). */
  finish?: boolean;
  log?: (line: string) => void;
}

const NAME = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;
const RESERVED = new Set(['common', 'micro-oncall', 'service-kit', 'incident-model', 'test-kit']);

/** Where each part of templates/service/ goes. */
const TARGETS: Record<string, (name: string) => string> = {
  service: (name) => join('services', name),
  chart: (name) => join('charts', name),
  docs: () => 'docs',
};

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

/** Pinned versions the template refers to as `@@v:package@@`, taken from the existing workspace. */
function versions(root: string): Map<string, string> {
  const found = new Map<string, string>();
  const manifests = [
    join(root, 'packages', 'service-kit', 'package.json'),
    ...readdirSync(join(root, 'services')).map((s) => join(root, 'services', s, 'package.json')),
    join(root, 'package.json'),
  ];
  for (const file of manifests) {
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Record<string, string> | undefined>;
    for (const deps of [pkg.dependencies, pkg.devDependencies]) {
      for (const [dep, version] of Object.entries(deps ?? {})) {
        if (!version.startsWith('workspace:') && !found.has(dep)) found.set(dep, version);
      }
    }
  }
  return found;
}

function run(root: string, cmd: string, args: string[], cwd = root) {
  const result = spawnSync(cmd, args, { cwd, stdio: 'inherit', env: process.env });
  if (result.status !== 0) throw new Error(`${relative(root, cmd)} ${args.join(' ')} failed (exit ${result.status})`);
}

/**
 * The chart joins the library chart and the umbrella chart: the dependency links Helm reads, and
 * the umbrella's dependency entry and `enabled` switch — off, so that the platform release does
 * not install a new service before its team has configured it.
 */
function joinUmbrella(root: string, name: string): string[] {
  mkdirSync(join(root, 'charts', name, 'charts'), { recursive: true });
  symlinkSync(join('..', '..', 'common'), join(root, 'charts', name, 'charts', 'common'));
  const umbrella = join(root, 'charts', 'micro-oncall');
  symlinkSync(join('..', '..', name), join(umbrella, 'charts', name));
  appendFileSync(
    join(umbrella, 'Chart.yaml'),
    `  - name: ${name}\n    version: 0.1.0\n    repository: file://../${name}\n    condition: ${name}.enabled\n`,
  );
  appendFileSync(
    join(umbrella, 'values.yaml'),
    `\n## @param ${name}.enabled Install ${name} (other keys: charts/${name}/values.yaml); off until configured\n${name}:\n  enabled: false\n`,
  );
  return [
    join('charts', name, 'charts', 'common'),
    join('charts', 'micro-oncall', 'charts', name),
    join('charts', 'micro-oncall', 'Chart.yaml'),
    join('charts', 'micro-oncall', 'values.yaml'),
  ];
}

/** Writes services/<name>, charts/<name> and docs/runbooks/<name>.md from the template. Returns the files written. */
export async function scaffoldService(opts: ScaffoldOptions): Promise<string[]> {
  const root = opts.root ?? join(dirname(new URL(import.meta.url).pathname), '..', '..');
  const log = opts.log ?? (() => undefined);
  const { name } = opts;
  if (!NAME.test(name) || name.length > 40) {
    throw new Error(
      `service name ${JSON.stringify(name)}: use lowercase letters, digits and single dashes (at most 40)`,
    );
  }
  if (RESERVED.has(name)) throw new Error(`${name} is reserved`);
  for (const target of Object.values(TARGETS).slice(0, 2)) {
    if (existsSync(join(root, target(name)))) throw new Error(`${target(name)} already exists`);
  }
  const description = (opts.description ?? `The ${name} service`).replace(/['`\\\n]/g, ' ');
  const vars: Record<string, string> = {
    name,
    schema: name.replaceAll('-', '_'),
    camel: name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase()),
    description,
  };
  const pinned = versions(root);
  const render = (text: string) =>
    text.replace(/@@(v:)?([\w/.@-]+?)@@/g, (whole, isVersion: string | undefined, key: string) => {
      const value = isVersion ? pinned.get(key) : vars[key];
      if (value === undefined) throw new Error(`template placeholder ${whole} has no value`);
      return value;
    });

  const templates = join(root, 'templates', 'service');
  const written: string[] = [];
  for (const [part, target] of Object.entries(TARGETS)) {
    const from = join(templates, part);
    if (!existsSync(from)) throw new Error(`templates/service/${part} is missing`);
    for (const file of walk(from)) {
      const rel = render(relative(from, file)).replace(/\.tmpl$/, '');
      const dest = join(root, target(name), rel);
      if (existsSync(dest)) throw new Error(`${relative(root, dest)} already exists`);
      mkdirSync(dirname(dest), { recursive: true });
      const content = readFileSync(file, 'utf8');
      writeFileSync(dest, file.endsWith('.tmpl') ? render(content) : content);
      written.push(relative(root, dest));
    }
  }
  written.push(...joinUmbrella(root, name));
  log(`wrote ${written.length} files for ${name}`);
  if (opts.finish === false) return written;

  const bin = (tool: string) => join(root, 'node_modules', '.bin', tool);
  const pnpm = join(root, '.cache', 'tools', 'node_modules', '.bin', 'pnpm');
  log('linking it into the workspace (pnpm install)');
  run(root, existsSync(pnpm) ? pnpm : 'pnpm', [
    'install',
    '--no-frozen-lockfile',
    '--prefer-offline',
    '--reporter=append-only',
  ]);
  log('generating its first migration (drizzle-kit generate)');
  const service = join(root, 'services', name);
  run(root, join(service, 'node_modules', '.bin', 'drizzle-kit'), ['generate', '--name', 'init'], service);
  log('generating its chart values schema and API contract');
  run(root, bin('tsx'), [join('scripts', 'chart-schemas.ts')]);
  run(root, bin('tsx'), [join('scripts', 'contracts.ts')]);
  run(root, bin('biome'), ['check', '--write', join('services', name), join('docs', 'runbooks', `${name}.md`)]);
  return written;
}
