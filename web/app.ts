// The live page of control --serve: one EventSource for every change, rows updated in place (never
// the whole table per event), one 4 Hz timer that moves the heartbeat bars and ages.

// The API's shapes are control's JSON, from the one place that defines them (types only: nothing of it is bundled).
import type { HistoryEntry as Ended, ListEntry as Task, PoolEntry as Pool } from '../src/control/entries';

type Feedback = Record<string, string>;

const $ = <T extends HTMLElement>(sel: string): T => document.querySelector(sel) as T;
const el = <K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string): HTMLElementTagNameMap[K] => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};
const setText = (e: Element, t: string) => {
  if (e.textContent !== t) e.textContent = t;
};

// The token comes in the URL once (as Jupyter's); it is kept for the tab and taken out of the address bar.
const url = new URL(location.href);
const token = url.searchParams.get('token') ?? sessionStorage.getItem('taskwatch-token');
if (url.searchParams.has('token')) {
  sessionStorage.setItem('taskwatch-token', token ?? '');
  url.searchParams.delete('token');
  history.replaceState(null, '', url.pathname + url.search + url.hash);
}

async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = (await r.json().catch(() => ({}))) as T & { error?: string };
  if (!r.ok) throw new Error(data.error ?? `${r.status} ${r.statusText}`);
  return data;
}

// ---- formatting

const secs = (s: number | null): string => {
  if (s === null || !Number.isFinite(s)) return '';
  if (s < 60) return `${s.toFixed(1)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${Math.floor(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
};
const bytes = (b: number | null): string => (b === null ? '' : b < 1024 * 1024 ? `${(b / 1024).toFixed(0)}K` : b < 1024 ** 3 ? `${(b / 1024 / 1024).toFixed(1)}M` : `${(b / 1024 ** 3).toFixed(2)}G`);
const when = (t: number | null): string => {
  if (t === null) return '';
  const d = new Date(t * 1000);
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString([], { hour12: false }) : d.toLocaleString([], { hour12: false });
};

// ---- the clock: the server's, so ages agree with it whatever the browser's clock says

let skew = 0; // browser seconds minus server seconds
const serverNow = () => Date.now() / 1000 - skew;

// ---- toasts

let toastTimer: number | undefined;
function toast(msg: string, error = false): void {
  const t = $('#toast');
  t.textContent = msg;
  t.className = `show${error ? ' error' : ''}`;
  clearTimeout(toastTimer);
  toastTimer = window.setTimeout(() => (t.className = ''), error ? 6000 : 3500);
}

// ---- tasks

interface Row {
  tr: HTMLTableRowElement;
  c: {
    name: HTMLTableCellElement;
    status: HTMLSpanElement;
    bar: HTMLElement;
    beatText: HTMLElement;
    pid: HTMLTableCellElement;
    cpu: HTMLTableCellElement;
    mem: HTMLTableCellElement;
    age: HTMLTableCellElement;
    restarts: HTMLTableCellElement;
    fb: HTMLTableCellElement;
    kill: HTMLButtonElement;
  };
  task: Task;
  /** Server time of the last heartbeat (or start), for watched tasks. */
  beatAt: number | null;
  fbKey: string;
  /** What the bar shows now: written to the DOM only when it changes (500 rows tick 4 times a second). */
  barWidth: string;
  barLevel: string;
}

const rows = new Map<number, Row>();
const tbody = () => $('#tasks').querySelector('tbody') as HTMLTableSectionElement;

function makeRow(t: Task): Row {
  const tr = el('tr');
  tr.dataset.id = String(t.taskid);
  const cell = (cls?: string) => tr.appendChild(el('td', cls));
  setText(cell(), String(t.taskid));
  const name = cell();
  const status = cell().appendChild(el('span', 'status'));
  const beat = cell().appendChild(el('div', 'beat'));
  const bar = beat.appendChild(el('div', 'bar')).appendChild(el('i'));
  const beatText = beat.appendChild(el('small'));
  const pid = cell();
  const cpu = cell('num');
  const mem = cell('num');
  const age = cell('num');
  const restarts = cell('num');
  const fb = cell();
  const kill = cell().appendChild(el('button', 'danger', 'Kill'));
  kill.type = 'button';
  kill.addEventListener('click', () => void confirmKill(t.taskid));
  const row: Row = { tr, c: { name, status, bar, beatText, pid, cpu, mem, age, restarts, fb, kill }, task: t, beatAt: null, fbKey: '', barWidth: '', barLevel: '' };
  // Keep rows in id order: find the first row with a larger id.
  let before: HTMLTableRowElement | null = null;
  for (const r of rows.values()) if (r.task.taskid > t.taskid && (!before || Number(before.dataset.id) > r.task.taskid)) before = r.tr;
  tbody().insertBefore(tr, before);
  return row;
}

function upsertTask(t: Task, now: number): void {
  let r = rows.get(t.taskid);
  if (!r) {
    r = makeRow(t);
    rows.set(t.taskid, r);
  }
  r.task = t;
  r.beatAt = t.timer !== null ? now - t.timer : null;
  r.tr.dataset.status = t.status;
  setText(r.c.name, t.pool ? `${t.pool}.${t.instance}` : (t.name ?? ''));
  r.c.status.dataset.status = t.status;
  setText(r.c.status, t.status);
  setText(r.c.pid, t.pid === null ? '' : String(t.pid));
  setText(r.c.restarts, t.restarts ? `${t.restarts}${t.last_outcome ? ` (${t.last_outcome})` : ''}` : '');
  setUsage(r, t.cpu, t.memory);
  r.c.kill.disabled = t.status === 'RESERVED';
  tick(r, serverNow());
  counts();
}

function setUsage(r: Row, cpu: number | null, memory: number | null): void {
  r.task.cpu = cpu;
  r.task.memory = memory;
  setText(r.c.cpu, cpu === null ? '' : `${cpu.toFixed(1)}%`);
  setText(r.c.mem, bytes(memory));
}

function setFeedback(r: Row, fb: Feedback): void {
  const key = JSON.stringify(fb);
  if (key === r.fbKey) return;
  r.fbKey = key;
  const box = el('div', 'chips');
  const progress = fb.progress;
  if (progress !== undefined) {
    const pct = Math.max(0, Math.min(100, Number.parseFloat(progress)));
    const p = box.appendChild(el('div', 'progress'));
    const b = p.appendChild(el('div', 'bar')).appendChild(el('i'));
    b.style.width = `${Number.isFinite(pct) ? pct : 0}%`;
    p.appendChild(el('span', undefined, Number.isFinite(pct) ? `${pct}%` : progress));
  }
  for (const [k, v] of Object.entries(fb)) {
    if (k === 'progress') continue;
    const chip = box.appendChild(el('span', 'chip'));
    chip.title = `${k}: ${v}`;
    chip.appendChild(el('b', undefined, k));
    chip.appendChild(document.createTextNode(` ${v}`));
  }
  r.c.fb.replaceChildren(box);
}

function removeTask(id: number): void {
  const r = rows.get(id);
  if (!r) return;
  r.tr.remove();
  rows.delete(id);
  counts();
}

/** Moves one row's heartbeat bar and age to `now`. */
function tick(r: Row, now: number): void {
  const t = r.task;
  const age = t.starttime !== null && t.status !== 'BACKOFF' ? now - t.starttime : null;
  setText(r.c.age, secs(age));
  if (t.timeout === null || r.beatAt === null || t.status === 'BACKOFF' || t.status === 'RESERVED') {
    setBar(r, '0', '');
    setText(r.c.beatText, t.status === 'BACKOFF' ? 'restarting' : t.feedback || t.status === 'RESERVED' ? '' : 'no heartbeat');
    return;
  }
  const quiet = Math.max(0, now - r.beatAt);
  const f = Math.min(1, quiet / t.timeout);
  setBar(r, `${(Math.round(f * 200) / 2).toFixed(1)}%`, f < 0.25 ? 'RUNNING' : f < 0.5 ? 'SILENT' : 'STALLED');
  setText(r.c.beatText, `${quiet.toFixed(1)}s / ${t.timeout}s`);
}

function setBar(r: Row, width: string, level: string): void {
  if (width !== r.barWidth) r.c.bar.style.width = r.barWidth = width;
  if (level !== r.barLevel) r.c.bar.dataset.level = r.barLevel = level;
}

setInterval(() => {
  if (document.hidden) return;
  const now = serverNow();
  for (const r of rows.values()) tick(r, now);
}, 250);

function counts(): void {
  setText($('#task-count'), String(rows.size));
  $('#no-tasks').hidden = rows.size > 0;
}

// ---- kill, with a confirmation

async function confirmKill(id: number): Promise<void> {
  const r = rows.get(id);
  if (!r) return;
  const dialog = $<HTMLDialogElement>('#confirm');
  setText($('#confirm-text'), `Kill task ${id} (${r.c.name.textContent}, pid ${r.task.pid ?? '?'})? Every process of it gets SIGTERM, then SIGKILL after its grace. It will not be restarted.`);
  dialog.returnValue = '';
  dialog.showModal();
  await new Promise((res) => dialog.addEventListener('close', res, { once: true }));
  if (dialog.returnValue !== 'ok') return;
  r.c.kill.disabled = true;
  try {
    const rep = await api<{ message: string }>('POST', `/api/tasks/${id}/kill`, {});
    toast(rep.message);
  } catch (err) {
    toast((err as Error).message, true);
    r.c.kill.disabled = false;
  }
}

// ---- pools

function renderPools(pools: Pool[]): void {
  $('#pools-section').hidden = pools.length === 0;
  const body = $('#pools').querySelector('tbody') as HTMLTableSectionElement;
  body.replaceChildren(
    ...pools.map((p) => {
      const tr = el('tr');
      tr.dataset.pool = p.name;
      tr.appendChild(el('td', undefined, p.name));
      tr.appendChild(el('td', 'num', `${p.active} / ${p.desired}`));
      const steps = tr.appendChild(el('td'));
      for (const [label, d] of [['−', -1], ['+', 1]] as const) {
        const b = steps.appendChild(el('button', 'step', label));
        b.type = 'button';
        b.title = d < 0 ? 'one instance fewer' : 'one instance more';
        b.disabled = p.desired + d < 0;
        b.addEventListener('click', async () => {
          for (const x of steps.querySelectorAll('button')) x.disabled = true;
          try {
            const r = await api<{ message: string }>('POST', `/api/pools/${encodeURIComponent(p.name)}/scale`, { desired: p.desired + d });
            toast(r.message);
          } catch (err) {
            toast((err as Error).message, true);
          }
        });
        steps.append(' ');
      }
      tr.appendChild(el('td', undefined, p.supervisor_pid === null ? 'none' : `pid ${p.supervisor_pid}`));
      tr.appendChild(el('td', 'num', String(p.restarts)));
      tr.appendChild(el('td', 'num', String(p.dead)));
      tr.appendChild(el('td', 'num', String(p.stalled)));
      const cmd = tr.appendChild(el('td', 'cmd'));
      cmd.title = p.command.join(' ');
      cmd.appendChild(el('code', undefined, p.command.join(' ')));
      return tr;
    }),
  );
}

// ---- history: a page at a time, filtered on the server

const hist = { offset: 0, limit: 50, name: '', outcome: '', total: 0, all: 0 };

function histRow(h: Ended): HTMLTableRowElement {
  const tr = el('tr');
  tr.dataset.taskid = String(h.taskid);
  tr.appendChild(el('td', undefined, String(h.taskid)));
  tr.appendChild(el('td', 'num', String(h.run)));
  tr.appendChild(el('td', undefined, h.name ?? ''));
  const failed = h.outcome === 'exited' && h.exitcode !== 0;
  tr.appendChild(el('td', failed ? 'outcome-failed' : `outcome-${h.outcome ?? ''}`, h.outcome ?? ''));
  tr.appendChild(el('td', 'num', h.exitcode !== null ? String(h.exitcode) : (h.termsignal ?? '')));
  tr.appendChild(el('td', undefined, when(h.endtime)));
  tr.appendChild(el('td', 'num', secs(h.duration)));
  const err = tr.appendChild(el('td', 'error', h.termerror ?? ''));
  err.title = h.termerror ?? '';
  return tr;
}

function pageInfo(): void {
  const first = hist.total === 0 ? 0 : hist.offset + 1;
  const body = $('#history').querySelector('tbody') as HTMLTableSectionElement;
  setText($('#page-info'), `${first}–${hist.offset + body.rows.length} of ${hist.total}`);
  ($('#prev') as HTMLButtonElement).disabled = hist.offset === 0;
  ($('#next') as HTMLButtonElement).disabled = hist.offset + hist.limit >= hist.total;
  setText($('#history-total'), String(hist.all));
}

let histSeq = 0;
async function loadHistory(): Promise<void> {
  const seq = ++histSeq;
  const q = new URLSearchParams({ limit: String(hist.limit), offset: String(hist.offset) });
  if (hist.name) q.set('name', hist.name);
  if (hist.outcome) q.set('outcome', hist.outcome);
  try {
    const r = await api<{ total: number; rows: Ended[] }>('GET', `/api/history?${q}`);
    if (seq !== histSeq) return; // a newer request is on its way
    hist.total = r.total;
    ($('#history').querySelector('tbody') as HTMLTableSectionElement).replaceChildren(...r.rows.map(histRow));
    pageInfo();
  } catch (err) {
    toast((err as Error).message, true);
  }
}

function onEnded(h: Ended): void {
  hist.all++;
  const matches = (!hist.name || h.name === hist.name) && (!hist.outcome || h.outcome === hist.outcome);
  if (matches) {
    hist.total++;
    if (hist.offset === 0) {
      const body = $('#history').querySelector('tbody') as HTMLTableSectionElement;
      body.insertBefore(histRow(h), body.firstChild);
      while (body.rows.length > hist.limit) body.deleteRow(-1);
    } else hist.offset++; // keep the same rows in view
  }
  pageInfo();
}

let nameTimer: number | undefined;
$('#f-name').addEventListener('input', () => {
  clearTimeout(nameTimer);
  nameTimer = window.setTimeout(() => {
    hist.name = ($('#f-name') as HTMLInputElement).value.trim();
    hist.offset = 0;
    void loadHistory();
  }, 250);
});
$('#f-outcome').addEventListener('change', () => {
  hist.outcome = ($('#f-outcome') as HTMLSelectElement).value;
  hist.offset = 0;
  void loadHistory();
});
$('#history-filter').addEventListener('submit', (e) => e.preventDefault());
$('#prev').addEventListener('click', () => {
  hist.offset = Math.max(0, hist.offset - hist.limit);
  void loadHistory();
});
$('#next').addEventListener('click', () => {
  hist.offset += hist.limit;
  void loadHistory();
});

// ---- the stream

function connect(): void {
  const conn = $('#conn');
  const es = new EventSource(`/api/events${token ? `?token=${encodeURIComponent(token)}` : ''}`);
  const on = <T>(type: string, f: (d: T & { now: number }) => void) =>
    es.addEventListener(type, (ev) => {
      const d = JSON.parse((ev as MessageEvent<string>).data) as T & { now: number };
      skew = Date.now() / 1000 - d.now;
      f(d);
    });
  on<{ tasks: Task[]; pools: Pool[]; historyTotal: number; feedback: Record<string, Feedback>; registry: string }>('snapshot', (d) => {
    conn.dataset.state = 'live';
    setText(conn, 'live');
    setText($('#registry'), d.registry);
    const ids = new Set(d.tasks.map((t) => t.taskid));
    for (const id of [...rows.keys()]) if (!ids.has(id)) removeTask(id);
    for (const t of d.tasks) {
      upsertTask(t, d.now);
      const fb = d.feedback[String(t.taskid)];
      if (fb) setFeedback(rows.get(t.taskid)!, fb);
    }
    renderPools(d.pools);
    hist.all = d.historyTotal;
    void loadHistory(); // (again, after a reconnection: endings may have been missed)
  });
  on<{ task: Task; feedback: Feedback | null }>('task', (d) => {
    upsertTask(d.task, d.now);
    if (d.feedback) setFeedback(rows.get(d.task.taskid)!, d.feedback);
  });
  on<{ taskid: number }>('gone', (d) => removeTask(d.taskid));
  on<{ entry: Ended }>('ended', (d) => onEnded(d.entry));
  on<{ pools: Pool[] }>('pools', (d) => renderPools(d.pools));
  on<{ beats: Array<{ taskid: number; at: number; feedback: Feedback }> }>('heartbeats', (d) => {
    for (const b of d.beats) {
      const r = rows.get(b.taskid);
      if (!r) continue;
      r.beatAt = b.at;
      setFeedback(r, b.feedback);
      tick(r, serverNow());
    }
  });
  on<{ usage: Array<{ taskid: number; cpu: number | null; memory: number | null }> }>('usage', (d) => {
    for (const u of d.usage) {
      const r = rows.get(u.taskid);
      if (r) setUsage(r, u.cpu, u.memory);
    }
  });
  es.onerror = () => {
    conn.dataset.state = es.readyState === EventSource.CLOSED ? 'down' : 'connecting';
    setText(conn, es.readyState === EventSource.CLOSED ? 'disconnected' : 'reconnecting…');
    if (es.readyState === EventSource.CLOSED) setTimeout(connect, 3000);
  };
}

counts();
connect();
