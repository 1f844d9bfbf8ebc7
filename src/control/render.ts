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

export function renderList(entries: ListEntry[]): string {
  if (entries.length === 0) return 'No tasks.';
  return table(
    ['taskid', 'name', 'info1', 'info2', 'info3', 'pid', 'status', 'starttime', 'duration(s)', 'feedback', 'timer(s)', 'timeout(s)', 'cpu%', 'memory'],
    entries.map((e) => [
      str(e.taskid), str(e.name), str(e.info1), str(e.info2), str(e.info3), str(e.pid), e.status, localTime(e.starttime),
      secs(e.duration), e.feedback ? 'yes' : 'no', secs(e.timer), str(e.timeout), e.cpu == null ? '' : e.cpu.toFixed(1), mb(e.memory),
    ]),
  );
}

function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

export function renderHistory(entries: HistoryEntry[]): string {
  if (entries.length === 0) return 'No history.';
  return table(
    ['id', 'taskid', 'name', 'info1', 'outcome', 'exit', 'signal', 'starttime', 'endtime', 'duration(s)', 'error', 'feedback'],
    entries.map((h) => [
      str(h.id), str(h.taskid), str(h.name), str(h.info1), str(h.outcome), str(h.exitcode), str(h.termsignal), localTime(h.starttime),
      localTime(h.endtime), secs(h.duration), clip(str(h.termerror), 40), clip(JSON.stringify(h.feedback), 40),
    ]),
  );
}

export function renderPools(entries: PoolEntry[]): string {
  if (entries.length === 0) return 'No pools.';
  return table(
    ['pool', 'wanted', 'running', 'supervisor', 'since', 'last beat(s)', 'dead', 'stalled', 'restarts', 'command'],
    entries.map((p) => [
      str(p.name), str(p.desired), str(p.active), p.supervisor_pid == null ? (p.desired > 0 ? 'none' : '') : str(p.supervisor_pid), localTime(p.supervised_since),
      secs(p.last_heartbeat), str(p.dead), str(p.stalled), str(p.restarts), clip(str(p.command.join(' ')), 30),
    ]),
  );
}
