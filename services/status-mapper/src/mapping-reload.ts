import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { type Component, Counter, Gauge, type Logger, type Registry } from '@micro-oncall/service-kit';
import { Mapping } from './config/mapping.js';
import { ConfigFileError } from './config/yaml.js';

/*
 * The mapping in force, reloaded without a restart. Every `intervalMs` the file's bytes are read
 * and hashed; a new content is applied when it reads the same twice `settleMs` apart (a file
 * caught half-written is not applied) and parses and validates. An invalid new file keeps the
 * previous mapping: the error (with its lines) is logged once, counted, and reported by
 * GET /status/v1/mapping until the file is fixed.
 *
 * Polling the content, not watching the file, is deliberate: Kubernetes updates a mounted
 * ConfigMap by writing a new timestamped directory and swapping the `..data` symlink, so the
 * inode behind `mapping.yml` is replaced and a watch on it goes quiet; editors that save by
 * rename do the same. Reading a small file every few seconds follows all of them.
 */

export interface MappingReloadError {
  /** When the file was found invalid. */
  at: string;
  /** sha256 of the rejected content; null when the file could not be read. */
  hash: string | null;
  /** `line 7: mappings.x.page: …` (see ConfigFileError). */
  problems: string[];
}

export interface MappingSourceState {
  /** STATUS_MAPPING_FILE; null when no file is configured (nothing mapped). */
  file: string | null;
  /** sha256 (hex) of the content in force. */
  hash: string | null;
  /** When the content in force was loaded (start-up or the last applied reload). */
  loadedAt: string | null;
  /** The last time the file was looked at. */
  checkedAt: string | null;
  /** Set while the file on disk is rejected and the previous mapping stays in force. */
  lastReloadError: MappingReloadError | null;
}

export type ReloadOutcome = 'unchanged' | 'applied' | 'rejected' | 'unsettled';

export interface MappingWatcher extends Component {
  /** The mapping in force: ask for it at each use, it changes on reload. */
  current(): Mapping;
  state(): MappingSourceState;
  /** Looks at the file now (the timer does so every interval); one check at a time. */
  check(): Promise<ReloadOutcome>;
}

export interface MappingWatcherOptions {
  file: string | null;
  /** Source ids: a rule's page must be one of them. */
  knownPages: readonly string[];
  intervalMs: number;
  /** Delay between the two reads of a new content (default: a quarter of the interval, at most 250 ms). */
  settleMs?: number;
  logger: Logger;
  registry: Registry;
  /**
   * Called after a reload swapped `next` in for `previous` (so consumers learn the components
   * whose services changed). When it throws, it is called again at the next check, still from
   * the mapping whose differences were not announced, until it succeeds.
   */
  onChange?: (previous: Mapping, next: Mapping) => Promise<void>;
  now?: () => Date;
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

const problemsOf = (error: unknown): string[] =>
  error instanceof ConfigFileError ? error.problems : [(error as Error).message];

/**
 * Loads the mapping file at once (a bad file at start-up throws: the service does not start
 * with a mapping it cannot read) and returns the watcher that reloads it once started.
 */
export function createMappingWatcher(opts: MappingWatcherOptions): MappingWatcher {
  const now = () => (opts.now ? opts.now() : new Date()).toISOString();
  const settleMs = opts.settleMs ?? Math.min(250, Math.floor(opts.intervalMs / 4));
  const reloads = new Counter({
    name: 'status_mapper_mapping_reloads_total',
    help: 'Mapping file contents found changed, by outcome (applied, or rejected: the previous mapping stays)',
    labelNames: ['outcome'] as const,
    registers: [opts.registry],
  });
  const failing = new Gauge({
    name: 'status_mapper_mapping_reload_failing',
    help: '1 while the mapping file on disk is invalid and the previous mapping stays in force',
    registers: [opts.registry],
    // Each worker process reads the file itself: 1 while any of them keeps a previous mapping.
    aggregator: 'max',
  });
  const loadedAt = new Gauge({
    name: 'status_mapper_mapping_loaded_timestamp_seconds',
    help: 'When the mapping in force was loaded (start-up or the last applied reload; over worker processes, the oldest)',
    registers: [opts.registry],
    aggregator: 'min',
  });
  for (const outcome of ['applied', 'rejected']) reloads.inc({ outcome }, 0);
  failing.set(0);

  let mapping = Mapping.empty();
  const state: MappingSourceState = {
    file: opts.file,
    hash: null,
    loadedAt: null,
    checkedAt: null,
    lastReloadError: null,
  };
  if (opts.file) {
    const bytes = readFileOrThrow(opts.file);
    mapping = Mapping.fromText(bytes.toString('utf8'), opts.file, opts.knownPages);
    state.hash = sha256(bytes);
    state.loadedAt = now();
    state.checkedAt = state.loadedAt;
    loadedAt.set(Date.now() / 1000);
  }

  /** The mapping whose differences from the one in force are not announced yet (onChange failed). */
  let unannounced: Mapping | null = null;
  let running: Promise<ReloadOutcome> | null = null;
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;

  async function read(file: string): Promise<{ bytes: Buffer; hash: string } | { error: string }> {
    try {
      const bytes = await readFile(file);
      return { bytes, hash: sha256(bytes) };
    } catch (error) {
      return { error: `cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` };
    }
  }

  function reject(hash: string | null, problems: string[]): ReloadOutcome {
    // One report per content: an invalid file left in place is not logged again every interval.
    if (state.lastReloadError && state.lastReloadError.hash === hash) return 'rejected';
    state.lastReloadError = { at: now(), hash, problems };
    reloads.inc({ outcome: 'rejected' });
    failing.set(1);
    opts.logger.error(
      { file: opts.file, hash, problems, inForce: state.hash },
      `mapping file rejected, the previous mapping stays in force: ${problems.join('; ')}`,
    );
    return 'rejected';
  }

  async function announce(): Promise<void> {
    if (!unannounced || !opts.onChange) {
      unannounced = null;
      return;
    }
    const previous = unannounced;
    try {
      await opts.onChange(previous, mapping);
      unannounced = null;
    } catch (error) {
      opts.logger.error({ err: error }, 'could not announce the components a mapping reload re-mapped; retrying');
    }
  }

  async function checkOnce(file: string): Promise<ReloadOutcome> {
    state.checkedAt = now();
    const first = await read(file);
    let outcome: ReloadOutcome;
    if ('error' in first) {
      outcome = reject(null, [first.error]);
    } else if (first.hash === state.hash) {
      if (state.lastReloadError) {
        // The file is back to the content in force: nothing is pending any more.
        opts.logger.info({ file, hash: state.hash }, 'mapping file is back to the mapping in force');
        state.lastReloadError = null;
        failing.set(0);
      }
      outcome = 'unchanged';
    } else if (state.lastReloadError?.hash === first.hash) {
      outcome = 'rejected';
    } else {
      await new Promise((resolve) => setTimeout(resolve, settleMs));
      const second = await read(file);
      if ('error' in second || second.hash !== first.hash) {
        outcome = 'unsettled'; // still being written: the next check looks again
      } else {
        let next: Mapping | null = null;
        try {
          next = Mapping.fromText(first.bytes.toString('utf8'), file, opts.knownPages);
        } catch (error) {
          outcome = reject(first.hash, problemsOf(error));
        }
        if (next) {
          unannounced ??= mapping;
          mapping = next;
          state.hash = first.hash;
          state.loadedAt = now();
          state.lastReloadError = null;
          reloads.inc({ outcome: 'applied' });
          failing.set(0);
          loadedAt.set(Date.now() / 1000);
          opts.logger.info({ file, hash: first.hash, rules: next.rules.length }, 'mapping file reloaded');
          outcome = 'applied';
        } else {
          outcome = 'rejected';
        }
      }
    }
    await announce();
    return outcome;
  }

  function schedule(): void {
    if (stopped || !opts.file) return;
    timer = setTimeout(() => {
      timer = null;
      void watcher.check().finally(schedule);
    }, opts.intervalMs);
    timer.unref();
  }

  const watcher: MappingWatcher = {
    id: 'mapping',
    current: () => mapping,
    state: () => ({ ...state }),
    check() {
      const file = opts.file;
      if (!file) return Promise.resolve('unchanged');
      running ??= checkOnce(file)
        .catch((error: unknown) => {
          opts.logger.error({ err: error }, 'mapping file check failed');
          return 'unchanged' as const;
        })
        .finally(() => {
          running = null;
        });
      return running;
    },
    async start() {
      stopped = false;
      schedule();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await running;
    },
    async healthcheck() {
      // A rejected reload is not a reason to take the pod out of service: the previous mapping
      // serves. It shows in GET /status/v1/mapping and status_mapper_mapping_reload_failing.
      return { healthy: true };
    },
  };
  return watcher;
}

function readFileOrThrow(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new ConfigFileError(file, [
      `cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    ]);
  }
}
