import { createHash } from 'node:crypto';
import { open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';

/*
 * The sources on disk: DISCOVERY_DIR holds one folder per source (its name is the source's name
 * in reports); every file under it, at any depth, is read. Hidden files and folders (a leading
 * dot) are skipped, so an exporter can write `.part` files and rename them when done.
 */

export interface SourceDir {
  name: string;
  path: string;
}

export interface SourceFile {
  /** Relative to the source's folder, with `/`. */
  name: string;
  path: string;
  size: number;
}

export async function listSources(dir: string): Promise<SourceDir[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => ({ name: e.name, path: path.join(dir, e.name) }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

export async function listFiles(root: string): Promise<SourceFile[]> {
  const out: SourceFile[] = [];
  const walk = async (dir: string) => {
    const entries = await readdir(dir, { withFileTypes: true });
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const full = path.join(dir, e.name);
      if (e.isDirectory()) await walk(full);
      else if (e.isFile()) {
        const { size } = await stat(full);
        out.push({ name: path.relative(root, full).split(path.sep).join('/'), path: full, size });
      }
    }
  };
  await walk(root);
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** How many first bytes identify a file: a rotated or replaced file starts differently. */
const HEAD_BYTES = 4096;

/** The file's first bytes (up to 4 KiB): kept to compare with the fingerprint of the next run. */
export async function headOf(file: string): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, HEAD_BYTES, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** `<length>:<sha256>` of the head. */
export const fingerprint = (head: Buffer) => `${head.length}:${createHash('sha256').update(head).digest('hex')}`;

/**
 * Whether the file still starts as it did when `previous` was taken: the same hash of the same
 * number of first bytes (a file that grew past 4 KiB since is compared on its first bytes only).
 */
export function sameStart(previous: string, head: Buffer): boolean {
  const [length, hash] = previous.split(':');
  const n = Number(length);
  if (!Number.isInteger(n) || !hash || head.length < n) return false;
  return createHash('sha256').update(head.subarray(0, n)).digest('hex') === hash;
}

/**
 * Where to start reading a file given its cursor: `skip` (unchanged since), the cursor's line
 * (it grew), or 0 (new, or rotated: it shrank or starts differently).
 */
export function resumeFrom(
  cursor: { line: number; size: number; head: string } | undefined,
  file: { size: number; head: Buffer },
): { from: number; rotated: boolean } | 'skip' {
  if (!cursor) return { from: 0, rotated: false };
  const same = sameStart(cursor.head, file.head);
  if (same && file.size === cursor.size) return 'skip';
  if (same && file.size > cursor.size) return { from: cursor.line, rotated: false };
  return { from: 0, rotated: true };
}
