import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Registry } from '../db/registry';
import { historyEntry, type HistoryEntry, type ListEntry, type PoolEntry } from '../control/entries';
import { entriesOf } from '../control/list';
import type { LaunchedTask, Task } from '../task/model';
import { readFeedbackFile } from '../feedback/file';
import { usageOf } from '../proc/usage';
import { hostName, isThisHost } from '../proc/host';
import { poolEntries } from '../control/pools';

// What the server knows of the registry, kept current by events: the registry's WAL (every status a
// launcher writes, every new task, every ending), the feedback files' directories (each heartbeat),
// and, while someone is watching, a sample every few seconds of CPU and memory, which no event
// reports, and of launchers' liveness (a SIGKILLed launcher writes nothing).

export type FeedEvent =
  | { type: 'task'; task: ListEntry; feedback: Record<string, string> | null }
  | { type: 'gone'; taskid: number }
  | { type: 'ended'; entry: HistoryEntry }
  | { type: 'heartbeats'; beats: Array<{ taskid: number; at: number; feedback: Record<string, string> }> }
  | { type: 'pools'; pools: PoolEntry[] }
  | { type: 'usage'; usage: Array<{ taskid: number; cpu: number | null; memory: number | null }> };

export interface Snapshot {
  tasks: ListEntry[];
  pools: PoolEntry[];
  /** The newest history row's id: events carry every ending after it. */
  lastHistoryId: number;
  historyTotal: number;
  /** Each watched task's feedback, as the page shows it (see glance). */
  feedback: Record<number, Record<string, string>>;
  registry: string;
}

/** What the page shows of a feedback file: its first keys, values cut short (control --feedback has it all). */
const GLANCE_KEYS = 24;
const GLANCE_CHARS = 200;
const GLANCE_BYTES = 256 * 1024;

export function glance(file: string): Record<string, string> {
  try {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(readFeedbackFile(file, { maxBytes: GLANCE_BYTES }).values).slice(0, GLANCE_KEYS)) out[k] = v.length > GLANCE_CHARS ? `${v.slice(0, GLANCE_CHARS)}…` : v;
    return out;
  } catch {
    return {}; // not a regular file (a task playing tricks): nothing to show
  }
}

/** The fields whose change is worth an event (not duration or timer, which the page counts itself). */
const signature = (e: ListEntry): string =>
  JSON.stringify([e.name, e.info1, e.info2, e.info3, e.pid, e.status, e.starttime, e.feedback, e.timeout, e.containment, e.restarts, e.last_outcome, e.pool, e.instance]);

export const SAMPLE_MS = 10_000;
/** Heartbeats are sent together, at most this often: 500 tasks beating twice a second stay one event per tick. */
const BEAT_BATCH_MS = 100;

const pidExists = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

export class Feed {
  /** The live rows as last read: the registry is read again only when it changes. */
  private live: Task[] = [];
  private tasks = new Map<number, { entry: ListEntry; sig: string }>();
  private pools = '[]';
  private poolList: PoolEntry[] = [];
  private lastHistoryId = 0;
  private readonly listeners = new Set<(e: FeedEvent) => void>();
  private stopRegistry: () => void = () => {};
  /** Feedback directories watched, and the file names in each that are heartbeats of which task. */
  private readonly dirs = new Map<string, { watcher: FSWatcher; files: Map<string, number> }>();
  private sampler: NodeJS.Timeout | undefined;
  private refreshing = false;
  private beats = new Map<number, number>();
  private readonly feedFiles = new Map<number, string>();
  private readonly feedbacks = new Map<number, Record<string, string>>();
  private readonly stale = new Set<number>();
  private beatTimer: NodeJS.Timeout | undefined;

  constructor(private readonly reg: Registry) {}

  start(): void {
    this.lastHistoryId = this.newestHistoryId();
    this.stopRegistry = this.reg.watch(() => this.refresh());
    this.refresh(true);
  }

  stop(): void {
    this.stopRegistry();
    clearInterval(this.sampler);
    clearTimeout(this.beatTimer);
    for (const d of this.dirs.values()) d.watcher.close();
    this.dirs.clear();
  }

  snapshot(): Snapshot {
    this.rederive(); // durations and quiet times as of now
    for (const id of this.stale) {
      const file = this.feedFiles.get(id);
      if (file) this.feedbacks.set(id, glance(file));
    }
    this.stale.clear();
    return {
      tasks: [...this.tasks.values()].map((t) => t.entry),
      pools: this.poolList,
      lastHistoryId: this.lastHistoryId,
      historyTotal: this.reg.historyCount(),
      feedback: Object.fromEntries(this.feedbacks),
      registry: this.reg.file,
    };
  }

  /** Subscribes; sampling runs only while someone listens. Returns the unsubscribe. */
  subscribe(f: (e: FeedEvent) => void): () => void {
    this.listeners.add(f);
    if (!this.sampler) this.sampler = setInterval(() => this.sample(), SAMPLE_MS);
    setImmediate(() => this.sample()); // the newcomer sees CPU and memory at once, not at the next sample
    return () => {
      this.listeners.delete(f);
      if (this.listeners.size === 0) {
        clearInterval(this.sampler);
        this.sampler = undefined;
      }
    };
  }

  private emit(e: FeedEvent): void {
    for (const f of this.listeners) f(e);
  }

  private newestHistoryId(): number {
    return this.reg.history({ limit: 1 })[0]?.id ?? 0;
  }

  /** Reads the registry again (it changed), and says what changed. */
  refresh(quiet = false): void {
    if (this.refreshing) return;
    this.refreshing = true;
    try {
      this.live = this.reg.liveTasks();
      this.watchFeedback();
      this.rederive(quiet);
      for (const h of this.reg.historyAfter(this.lastHistoryId)) {
        this.lastHistoryId = Math.max(this.lastHistoryId, h.id);
        if (!quiet) this.emit({ type: 'ended', entry: historyEntry(h) });
      }
      const pools = poolEntries(this.reg);
      const text = JSON.stringify(pools.map((p) => ({ ...p, last_heartbeat: null })));
      this.poolList = pools;
      if (text !== this.pools) {
        this.pools = text;
        if (!quiet) this.emit({ type: 'pools', pools });
      }
    } catch {
      /* a registry busy for a moment: the next change, or the next sample, brings it */
    } finally {
      this.refreshing = false;
    }
  }

  /** The live tasks as of now, from the rows last read (quiet times, launchers' liveness looked at now). */
  entries(now = Date.now(), rows: Task[] = this.live): ListEntry[] {
    return entriesOf(rows, now).map((e) => {
      const known = this.tasks.get(e.taskid)?.entry;
      return known ? { ...e, cpu: known.cpu, memory: known.memory } : e;
    });
  }

  /**
   * Derives every row's status again and says which changed (a launcher gone is LOST with no write to
   * tell). `launchedOnly`: a reservation changes only by a write, which refresh() reads anyway.
   */
  private rederive(quiet = false, launchedOnly = false): void {
    const seen = new Set<number>();
    for (const entry of this.entries(Date.now(), launchedOnly ? this.live.filter((t) => t.state !== 'RESERVED') : this.live)) {
      seen.add(entry.taskid);
      const sig = signature(entry);
      const before = this.tasks.get(entry.taskid);
      this.tasks.set(entry.taskid, { entry, sig });
      if (before?.sig === sig) continue;
      if (!quiet) this.emit({ type: 'task', task: entry, feedback: this.feedbacks.get(entry.taskid) ?? null });
    }
    if (launchedOnly) return;
    for (const id of [...this.tasks.keys()]) {
      if (seen.has(id)) continue;
      this.tasks.delete(id);
      this.feedFiles.delete(id);
      this.feedbacks.delete(id);
      if (!quiet) this.emit({ type: 'gone', taskid: id });
    }
  }

  /**
   * Watches the directory of every live task's feedback file; a write there is that task's heartbeat.
   * Only this host's: another host's path names something unrelated here.
   */
  private watchFeedback(): void {
    const wanted = new Map<string, Map<string, number>>();
    const here = hostName();
    for (const t of this.live) {
      if (t.state === 'RESERVED' || !t.watch || !isThisHost(t.host, here)) continue;
      if (this.feedFiles.get(t.id) !== t.watch.feedFile) {
        this.feedFiles.set(t.id, t.watch.feedFile);
        this.feedbacks.set(t.id, glance(t.watch.feedFile));
      }
      const dir = dirname(t.watch.feedFile);
      if (!wanted.has(dir)) wanted.set(dir, new Map());
      wanted.get(dir)!.set(basename(t.watch.feedFile), t.id);
    }
    for (const [dir, d] of this.dirs) {
      if (wanted.has(dir)) continue;
      d.watcher.close();
      this.dirs.delete(dir);
    }
    for (const [dir, files] of wanted) {
      const d = this.dirs.get(dir);
      if (d) {
        d.files = files;
        continue;
      }
      try {
        const entry = { watcher: undefined as unknown as FSWatcher, files };
        entry.watcher = watch(dir, (_e, name) => {
          const id = name === null ? undefined : entry.files.get(String(name));
          if (id !== undefined) this.beat(id);
        });
        entry.watcher.on('error', () => {
          entry.watcher.close();
          this.dirs.delete(dir);
        });
        this.dirs.set(dir, entry);
      } catch {
        /* a directory gone or unreadable: its tasks' heartbeats show when the registry changes */
      }
    }
  }

  private beat(id: number): void {
    if (this.listeners.size === 0) {
      this.stale.add(id); // nobody watching: read it when someone asks
      return;
    }
    this.beats.set(id, Date.now() / 1000);
    this.beatTimer ??= setTimeout(() => {
      this.beatTimer = undefined;
      const beats = [...this.beats].map(([taskid, at]) => {
        const file = this.feedFiles.get(taskid);
        const feedback = file ? glance(file) : {};
        this.feedbacks.set(taskid, feedback);
        return { taskid, at, feedback };
      });
      this.beats.clear();
      if (this.listeners.size > 0) this.emit({ type: 'heartbeats', beats });
    }, BEAT_BATCH_MS);
  }

  /**
   * CPU and memory, and launchers' liveness (LOST), for those watching: no event reports either. One
   * read of /proc per process; the statuses are derived again only when a launcher is gone.
   */
  private sample(): void {
    // A launcher gone is worth a full look (a pid reused since is caught by that look, and by every
    // registry change); asking the kernel whether the pid exists is one call, not three.
    // On PostgreSQL the launchers' locks are the database's to tell, and only a read tells them.
    const launched = this.live.filter((t): t is LaunchedTask => t.state !== 'RESERVED');
    if (this.reg.locks) this.refresh();
    else if (launched.some((t) => t.launcher !== null && !pidExists(t.launcher.pid))) this.rederive(false, true);
    const here = hostName();
    const running = [...this.tasks.values()].map((t) => t.entry)
      .filter((e) => e.pid !== null && e.status !== 'LOST' && e.status !== 'RESERVED' && e.status !== 'BACKOFF' && isThisHost(e.host, here));
    if (running.length === 0) return;
    const usage = usageOf(running.map((e) => e.pid as number));
    const out: Array<{ taskid: number; cpu: number | null; memory: number | null }> = [];
    for (const e of running) {
      const u = usage.get(e.pid as number);
      const cur = this.tasks.get(e.taskid);
      if (!cur || !u) continue;
      cur.entry = { ...cur.entry, cpu: u.cpu, memory: u.memory };
      out.push({ taskid: e.taskid, cpu: u.cpu, memory: u.memory });
    }
    if (out.length) this.emit({ type: 'usage', usage: out });
  }
}
