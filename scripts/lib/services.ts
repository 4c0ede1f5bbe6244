import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ServiceConfigSchema, ServiceDescriptor } from '@micro-oncall/service-kit';
import { REPO_ROOT } from '@micro-oncall/test-kit';

// biome-ignore lint/suspicious/noExplicitAny: descriptors of different services have different config and table types
export type AnyService = ServiceDescriptor<ServiceConfigSchema, any>;

export interface ServiceEntry {
  name: string;
  /** services/<name>, absolute. */
  dir: string;
  /** The container entry point (src/main.ts), absolute. */
  main: string;
  service: AnyService;
}

let cached: Promise<ServiceEntry[]> | undefined;

/**
 * Every service of the repository, found by its descriptor: each folder under services/ whose
 * public entry (src/index.ts) exports `service`. Producers come before their consumers, then by
 * name, so a platform started in this order has its topics' writers up first.
 */
export function listServices(): Promise<ServiceEntry[]> {
  cached ??= (async () => {
    const root = join(REPO_ROOT, 'services');
    const entries: ServiceEntry[] = [];
    for (const name of readdirSync(root).sort()) {
      const entry = join(root, name, 'src', 'index.ts');
      if (!existsSync(entry)) continue;
      const module = (await import(pathToFileURL(entry).href)) as { service?: AnyService };
      if (!module.service)
        throw new Error(`services/${name}/src/index.ts does not export its descriptor as \`service\``);
      if (module.service.name !== name) {
        throw new Error(
          `services/${name} declares itself as ${JSON.stringify(module.service.name)}: use the folder name`,
        );
      }
      entries.push({ name, dir: join(root, name), main: join(root, name, 'src', 'main.ts'), service: module.service });
    }
    return entries.sort(
      (a, b) => a.service.consumes.length - b.service.consumes.length || a.name.localeCompare(b.name),
    );
  })();
  return cached;
}

export async function findService(name: string): Promise<ServiceEntry> {
  const found = (await listServices()).find((s) => s.name === name);
  if (!found) throw new Error(`no service named ${JSON.stringify(name)} under services/`);
  return found;
}
