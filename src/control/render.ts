import Table from 'cli-table3';
import type { ListEntry } from './list';
import type { HistoryEntry } from './history';
import { localTime } from '../time';

const secs = (v: number | null) => (v == null ? '' : v.toFixed(1));
const str = (v: unknown) => (v == null ? '' : String(v));
const mb = (bytes: number | null) => (bytes == null ? '' : `${(bytes / 1048576).toFixed(1)} MB`);

function table(head: string[], rows: string[][]): string {
  const t = new Table({ head, style: { head: [], border: [] } });
  t.push(...rows);
  return t.toString();
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
