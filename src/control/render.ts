import Table from 'cli-table3';
import type { HistoryEntry, ListEntry, PoolEntry } from './entries';
import { localTime } from '../time';

const secs = (v: number | null) => (v == null ? '' : v.toFixed(1));
/** A cell's text on one line, with control characters (newlines, escape sequences) made visible as '?'. */
const str = (v: unknown) => (v == null ? '' : String(v).replace(/[\u0000-\u001f\u007f-\u009f]/g, '?'));
const mb = (bytes: number | null) => (bytes == null ? '' : `${(bytes / 1048576).toFixed(1)} MB`);

/** Display width: wide East Asian characters and emoji take two columns. */
function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    w += (c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0xa4cf) || (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xf900 && c <= 0xfaff) ||
      (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60) || (c >= 0xffe0 && c <= 0xffe6) || (c >= 0x1f300 && c <= 0x1faff) ? 2 : 1;
  }
  return w;
}

/** How many rows cli-table3 itself lays out; it spends about 20 µs a cell, 150 ms on 500 rows. */
export const CLI_TABLE_ROWS = 40;

/**
 * A cli-table3 table with column widths fixed from all the rows. cli-table3 renders the header and
 * the first CLI_TABLE_ROWS rows; further rows are printed in the very format it produced (a test
 * compares the two byte for byte), so `control --list` over 500 tasks stays fast.
 */
export function table(head: string[], rows: string[][], cliTableRows = CLI_TABLE_ROWS): string {
  const colWidths = head.map((h, i) => rows.reduce((w, r) => Math.max(w, displayWidth(r[i])), displayWidth(h)) + 2);
  const t = new Table({ head, colWidths, style: { head: [], border: [] } });
  t.push(...rows.slice(0, cliTableRows));
  const lines = t.toString().split('\n');
  if (rows.length <= cliTableRows) return lines.join('\n');
  const separator = lines[2]; // under the header: ├──┼──┤
  const out = lines.slice(0, -1);
  for (let i = cliTableRows; i < rows.length; i++) {
    out.push(separator, `│${rows[i].map((c, j) => ` ${c}${' '.repeat(colWidths[j] - 2 - displayWidth(c))} `).join('│')}│`);
  }
  out.push(lines[lines.length - 1]);
  return out.join('\n');
}

/** How a table is laid out: compact to `width` columns by default, every column in boxes with --wide. */
export interface Layout {
  wide: boolean;
  width: number;
}

/** A terminal's width, or 80 for a pipe (so that what scripts read does not depend on a window). */
export const layoutFor = (wide: boolean): Layout => ({ wide, width: process.stdout.isTTY ? (process.stdout.columns ?? 80) : 80 });

/** Seconds as a person reads an age: 42.0s, 4m12s, 3h05m, 2d04h. */
export function age(sec: number | null): string {
  if (sec == null) return '';
  if (sec < 60) return `${sec.toFixed(1)}s`;
  const p = (n: number) => String(Math.floor(n)).padStart(2, '0');
  if (sec < 3600) return `${Math.floor(sec / 60)}m${p(sec % 60)}s`;
  if (sec < 86400) return `${Math.floor(sec / 3600)}h${p((sec % 3600) / 60)}m`;
  return `${Math.floor(sec / 86400)}d${p((sec % 86400) / 3600)}h`;
}

function clipWidth(s: string, n: number): string {
  if (displayWidth(s) <= n) return s;
  let out = '';
  for (const ch of s) {
    if (displayWidth(out + ch) > n - 1) break;
    out += ch;
  }
  return `${out}…`;
}

/**
 * A table without borders that fits `width` columns, as ps and docker ps print them: the `flex`
 * columns (a name, an error) give up room, in order, and are cut with '…'.
 */
export function compact(head: string[], rows: string[][], width: number, flex: number[]): string {
  const widths = head.map((h, i) => rows.reduce((w, r) => Math.max(w, displayWidth(r[i])), displayWidth(h)));
  let over = widths.reduce((a, b) => a + b, 0) + 2 * (head.length - 1) - width;
  for (const f of flex) {
    if (over <= 0) break;
    const give = Math.min(over, Math.max(0, widths[f] - Math.max(4, displayWidth(head[f]))));
    widths[f] -= give;
    over -= give;
  }
  const line = (cells: string[]) =>
    cells.map((c, i) => {
      const v = clipWidth(c, widths[i]);
      return i === cells.length - 1 ? v : v + ' '.repeat(widths[i] - displayWidth(v));
    }).join('  ').trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}

export function renderList(entries: ListEntry[], layout: Layout = { wide: true, width: 80 }): string {
  if (entries.length === 0) return 'No tasks.';
  if (!layout.wide) {
    const infos = (['info1', 'info2', 'info3'] as const).filter((k) => entries.some((e) => e[k]));
    // The host is shown once there is more than one (a registry shared by several machines).
    const hosts = new Set(entries.map((e) => e.host).filter((h) => h !== null)).size > 1 ? 1 : 0;
    return compact(
      ['ID', 'NAME', ...(hosts ? ['HOST'] : []), ...infos.map((k) => k.toUpperCase()), 'STATUS', 'PID', 'AGE', 'TIMER', 'CPU%', 'MEM', 'RESTARTS'],
      entries.map((e) => [
        str(e.taskid), str(e.pool ? `${e.name}.${e.instance}` : e.name), ...(hosts ? [str(e.host)] : []), ...infos.map((k) => str(e[k])), e.status, str(e.pid),
        age(e.duration), age(e.timer), e.cpu == null ? '' : e.cpu.toFixed(1), e.memory == null ? '' : `${(e.memory / 1048576).toFixed(1)}M`,
        e.restarts ? String(e.restarts) : '',
      ]),
      layout.width,
      [1, ...infos.map((_, i) => 2 + hosts + i), ...(hosts ? [2] : [])],
    );
  }
  return table(
    ['taskid', 'name', 'info1', 'info2', 'info3', 'pid', 'status', 'starttime', 'duration(s)', 'feedback', 'timer(s)', 'timeout(s)', 'cpu%', 'memory', 'host'],
    entries.map((e) => [
      str(e.taskid), str(e.name), str(e.info1), str(e.info2), str(e.info3), str(e.pid), e.status, localTime(e.starttime),
      secs(e.duration), e.feedback ? 'yes' : 'no', secs(e.timer), str(e.timeout), e.cpu == null ? '' : e.cpu.toFixed(1), mb(e.memory), str(e.host),
    ]),
  );
}

function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

/** A moment in few columns: the time alone if it was today, else the day and minute. */
export function when(epochSec: number | null, nowSec = Date.now() / 1000): string {
  if (epochSec == null) return '';
  const [t, today] = [localTime(epochSec), localTime(nowSec)];
  return t.slice(0, 10) === today.slice(0, 10) ? t.slice(11) : t.slice(5, 16);
}

export function renderHistory(entries: HistoryEntry[], layout: Layout = { wide: true, width: 80 }): string {
  if (entries.length === 0) return 'No history.';
  if (!layout.wide) {
    return compact(
      ['TASK', 'RUN', 'NAME', 'OUTCOME', 'EXIT', 'ENDED', 'TOOK', 'ERROR'],
      entries.map((h) => [
        str(h.taskid), str(h.run), str(h.name), str(h.outcome), str(h.exitcode ?? h.termsignal), when(h.endtime), age(h.duration), str(h.termerror),
      ]),
      layout.width,
      [7, 2],
    );
  }
  return table(
    ['id', 'taskid', 'name', 'info1', 'outcome', 'exit', 'signal', 'starttime', 'endtime', 'duration(s)', 'error', 'feedback', 'host'],
    entries.map((h) => [
      str(h.id), str(h.taskid), str(h.name), str(h.info1), str(h.outcome), str(h.exitcode), str(h.termsignal), localTime(h.starttime),
      localTime(h.endtime), secs(h.duration), clip(str(h.termerror), 40), clip(JSON.stringify(h.feedback), 40), str(h.host),
    ]),
  );
}

export function renderPools(entries: PoolEntry[], layout: Layout = { wide: true, width: 80 }, nowSec = Date.now() / 1000): string {
  if (entries.length === 0) return 'No pools.';
  const ago = (t: number | null) => (t == null ? '' : age(Math.max(0, nowSec - t)));
  const supervisor = (p: PoolEntry) => (p.supervisor_pid == null ? (p.desired > 0 ? 'none' : '') : str(p.supervisor_pid));
  if (!layout.wide) {
    // SINCE: how long the supervisor has kept the pool; BEAT: how long since its freshest instance's heartbeat.
    return compact(
      ['POOL', 'WANT', 'UP', 'SUPERVISOR', 'SINCE', 'BEAT', 'DEAD', 'STALLED', 'RESTARTS', 'COMMAND'],
      entries.map((p) => [
        str(p.name), str(p.desired), str(p.active), supervisor(p), ago(p.supervised_since), ago(p.last_heartbeat),
        str(p.dead), str(p.stalled), str(p.restarts), str(p.command.join(' ')),
      ]),
      layout.width,
      [9, 0],
    );
  }
  return table(
    ['pool', 'wanted', 'running', 'supervisor', 'since', 'last beat', 'dead', 'stalled', 'restarts', 'command'],
    entries.map((p) => [
      str(p.name), str(p.desired), str(p.active), supervisor(p), localTime(p.supervised_since),
      localTime(p.last_heartbeat), str(p.dead), str(p.stalled), str(p.restarts), clip(str(p.command.join(' ')), 30),
    ]),
  );
}
