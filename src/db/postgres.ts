import type { RegistryError } from './errors';
import { maskUrl, pgError, PgBridge, type PgFailure } from './pg-bridge';
import { stateDir } from './location';
import { CHANGES, HISTORY_COLUMNS, KILLS, rowMaker, TASK_COLUMNS } from './pg-schema';
import { hostName } from '../proc/host';
import type { Infos, LaunchedTask, Pool, PoolOptions, ProcessId, RecordedStatus, Task } from '../task/model';
import {
  DEFAULT_TTL_SEC, mayClaimPool, nowSec, toPool, toTask,
  type ArchivedEnding, type ClaimResult, type HistoryFilter, type HistoryPage, type HistoryRow, type LaunchFields, type PoolRow, type Registry, type ReserveResult, type TaskRow,
} from './registry';

// The registry in PostgreSQL, for several hosts sharing one. Its calls are synchronous like
// SQLite's (see pg-bridge.ts); the connection also holds the launcher's advisory locks and LISTENs.

const taskRow = rowMaker<TaskRow>(TASK_COLUMNS);
const historyRow = rowMaker<HistoryRow>(HISTORY_COLUMNS);
const historyRows = (json: unknown): HistoryRow[] => (JSON.parse(json as string) as unknown[][]).map(historyRow);

/** A connection started early (prewarm.ts), for the first registry opened at that URL. */
let warm: PgBridge | undefined;

/** Starts the worker thread and its connection now; the registry opened later at `url` takes it over. */
export function prewarm(url: string): void {
  warm ??= new PgBridge(url);
}

export function openPostgres(url: string, o: { create: boolean; busyMs?: number }): PgRegistry {
  return new PgRegistry(url, o.create, o.busyMs ?? 15_000);
}

export class PgRegistry implements Registry {
  readonly kind = 'postgres';
  readonly locks = true;
  readonly key: string;
  readonly file: string;
  readonly home = stateDir();
  private readonly pg: PgBridge;

  constructor(
    readonly dbArg: string,
    create: boolean,
    busyMs: number,
  ) {
    this.file = maskUrl(dbArg);
    const early = warm?.url === dbArg ? warm : undefined;
    warm = undefined;
    this.pg = early ?? new PgBridge(dbArg, (e) => this.error(e), busyMs);
    this.pg.error = (e) => this.error(e);
    if (early && busyMs !== 15_000) this.pg.setLockTimeout(busyMs);
    try {
      this.key = this.call('open', create) as string;
    } catch (err) {
      this.close();
      throw err;
    }
  }

  private call(op: string, ...args: unknown[]): unknown {
    return this.pg.call(op, ...args);
  }

  /** The registry's own failures in words; the rest as for any connection. */
  private error(e: PgFailure): RegistryError {
    return pgError(this.file, e, (f) => {
      switch (f.code) {
        case 'ENOREGISTRY':
          return `there is no taskwatch registry in ${this.file}; launch or control --reserve creates it`;
        case 'FOREIGN':
          return `${this.file} holds a tasks table that is not a taskwatch registry; point --db at another database`;
        case 'TASKWATCH_NEWER':
          return `${this.file}: ${f.message}`;
        default:
          return undefined;
      }
    });
  }

  close(): void {
    this.pg.close();
  }

  /** A server is not a file at a path: nothing can replace it under us. */
  stillAtPath(): boolean {
    return true;
  }

  setBusyTimeout(ms: number): void {
    this.pg.setLockTimeout(ms);
  }

  watch(onChange: () => void): () => void {
    return this.pg.listen(CHANGES, () => onChange());
  }

  onKillRequest(onKill: (id: number) => void): () => void {
    return this.pg.listen(KILLS, (payload) => onKill(Number(payload)));
  }

  private taskRows = (json: unknown): TaskRow[] => (JSON.parse(json as string) as unknown[][]).map(taskRow);
  private task1 = (r: TaskRow | undefined): Task | undefined => r && toTask(r, this.key);
  private tasks = (rs: TaskRow[]): Task[] => rs.map((r) => toTask(r, this.key));

  private launched(r: TaskRow | undefined): LaunchedTask {
    const t = this.task1(r);
    if (!t || t.state === 'RESERVED') throw new Error('a task vanished inside its own transaction');
    return t;
  }

  sweep(now = nowSec()): number {
    return this.call('sweep', now) as number;
  }

  reserve(o: Infos & { unique?: boolean; ttlSec?: number }, now = nowSec()): ReserveResult {
    const r = this.call('reserve', o, now, o.ttlSec ?? DEFAULT_TTL_SEC) as { id: number } | { holder: TaskRow };
    return 'holder' in r ? { ok: false, holder: toTask(r.holder, this.key) } : { ok: true, id: r.id };
  }

  startNew(f: LaunchFields, now = nowSec()): LaunchedTask {
    return this.launched(this.call('startNew', f, now, hostName()) as TaskRow);
  }

  claim(id: number, f: LaunchFields, now = nowSec()): ClaimResult {
    const r = this.call('claim', id, f, now, hostName()) as { claimed: TaskRow } | 'unknown' | 'taken';
    return typeof r === 'object' ? { claimed: this.launched(r.claimed) } : r;
  }

  setChild(id: number, leader: ProcessId, pgid: number | null, cgroup: string | null): void {
    this.call('setChild', id, leader.pid, leader.start, pgid, cgroup);
  }

  setStatus(id: number, status: RecordedStatus, heartbeat: number | null, now = nowSec()): void {
    this.call('setStatus', id, status, heartbeat, now);
  }

  requestKill(id: number, graceSec: number | null, note: string): void {
    this.call('requestKill', id, graceSec, note);
  }

  withdrawKill(id: number, note: string): void {
    this.call('withdrawKill', id, note);
  }

  archive(t: LaunchedTask, e: ArchivedEnding, restart: { at: number } | null = null): number | null {
    return this.call('archive', t, e, restart) as number | null;
  }

  beginRun(t: LaunchedTask, now = nowSec()): LaunchedTask | undefined {
    const next = this.task1(this.call('beginRun', t, now) as TaskRow | undefined);
    return next && next.state !== 'RESERVED' ? next : undefined;
  }

  endBetweenRuns(t: LaunchedTask, note: string): void {
    this.call('endBetweenRuns', t, note);
  }

  pool(name: string): Pool | undefined {
    const r = this.call('pool', name) as PoolRow | undefined;
    return r && toPool(r);
  }

  pools(): Pool[] {
    return (this.call('pools') as PoolRow[]).map(toPool);
  }

  scalePool(name: string, desired: number, def: { command: string[]; options: PoolOptions } | null, now = nowSec()): { created: boolean } | { missing: true } {
    return this.call('scalePool', name, desired, def, now) as { created: boolean } | { missing: true };
  }

  /** Takes the pool unless a live supervisor holds it: decided here (only this host can prove a pid), written only if the row did not change meanwhile. */
  claimPool(name: string, me: ProcessId, alive: (p: ProcessId) => boolean, now = nowSec()): boolean {
    const p = this.pool(name);
    if (!mayClaimPool(p, me, alive)) return false;
    return this.call('setSupervisor', name, me.pid, me.start, now, p.supervisor) as boolean;
  }

  releasePool(name: string, me: ProcessId): void {
    this.call('releasePool', name, me.pid, me.start);
  }

  countPool(name: string, c: { dead?: number; stalled?: number; restarts?: number }): void {
    this.call('countPool', name, c.dead ?? 0, c.stalled ?? 0, c.restarts ?? 0);
  }

  deletePool(name: string): boolean {
    return this.call('deletePool', name) as boolean;
  }

  poolTasks(name: string): Task[] {
    return this.tasks(this.taskRows(this.call('poolTasks', name)));
  }

  task(id: number): Task | undefined {
    return this.task1(this.call('task', id) as TaskRow | undefined);
  }

  liveTasks(now = nowSec()): Task[] {
    return this.tasks(this.taskRows(this.call('liveTasks', now)));
  }

  tasksNamed(name: string): Task[] {
    return this.tasks(this.taskRows(this.call('tasksNamed', name)));
  }

  history(o: HistoryFilter & { limit: number; offset?: number }): HistoryRow[] {
    return historyRows(this.call('history', o));
  }

  /** Rows only: PostgreSQL's text of a number differs from JavaScript's, and the page is small. */
  historyJson(o: HistoryFilter & { limit: number }): HistoryPage {
    const rows = this.history(o);
    return { items: rows, count: rows.length, lowest: rows.length ? rows[rows.length - 1].id : null };
  }

  historyAfter(id: number): HistoryRow[] {
    return historyRows(this.call('historyAfter', id));
  }

  historyOf(taskid: number): HistoryRow | undefined {
    return this.call('historyOf', taskid) as HistoryRow | undefined;
  }

  release(id: number): boolean {
    return this.call('release', id) as boolean;
  }

  historyCount(f: HistoryFilter = {}): number {
    return this.call('historyCount', f) as number;
  }

  clearHistory(): number {
    return this.call('clearHistory') as number;
  }

  refreshDurations(now = nowSec()): number {
    return this.call('refreshDurations', now) as number;
  }

  liveCount(): number {
    return this.call('liveCount') as number;
  }

  recreate(): void {
    this.call('recreate');
  }
}
