import { z } from 'zod';
import { ConfigFileError, readYamlFile } from './yaml.js';

/*
 * The sources file: which provider status pages to watch. Adding a page is one entry:
 *
 *   pages:
 *     - id: cloudflare
 *       provider: Cloudflare
 *       url: https://yh6f0r4529hb.statuspage.io/api/v2/summary.json
 *       intervalSeconds: 60      # optional, >= 60 (the poll job ticks once a minute)
 *       jitterSeconds: 10        # optional, added at random to each next poll
 */

export const SourceId = z
  .string()
  .regex(/^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/, 'use lowercase letters, digits and inner dashes (at most 64)');

export const PageSource = z.strictObject({
  id: SourceId,
  /** Display name of the provider (`Cloudflare`). */
  provider: z.string().min(1).max(128),
  /** The page's Statuspage v2 `summary.json` (http(s), ends with /api/v2/summary.json). */
  url: z
    .url({ protocol: /^https?$/, message: 'must be an http(s) URL' })
    .refine((u) => new URL(u).pathname.endsWith('/api/v2/summary.json'), 'must end with /api/v2/summary.json'),
  intervalSeconds: z.number().int().min(60, 'at least 60: the poll job ticks once a minute').max(86_400).default(60),
  jitterSeconds: z.number().int().min(0).max(600).default(10),
});
export type PageSource = z.output<typeof PageSource>;

export const SourcesFile = z.strictObject({
  pages: z.array(PageSource).max(5000).default([]),
});

/** Reads and validates the sources file; duplicate ids are an error naming both. */
export function loadSources(file: string): PageSource[] {
  const parsed = readYamlFile(SourcesFile, file);
  const seen = new Map<string, number>();
  const problems: string[] = [];
  parsed.pages.forEach((page, index) => {
    const first = seen.get(page.id);
    if (first !== undefined) problems.push(`pages.${index}.id: ${page.id} is already used by pages.${first}`);
    else seen.set(page.id, index);
  });
  if (problems.length > 0) throw new ConfigFileError(file, problems);
  return parsed.pages;
}
