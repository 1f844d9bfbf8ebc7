// The epoll_demo wire format, byte for byte. Every frame is a u32 little-endian total length that
// counts its own 4 bytes, then the body:
//   worker -> controller: worker_id NUL task_name NUL u32le time_left
//   controller -> worker: task_name NUL u32le sleep_time      ("", 0) means: exit
// Strings are at most 31 bytes (the original's char[32]). The original programs take less than that:
// its worker accepts task names of at most 27 bytes, its controller a worker id and task name of at
// most 58 bytes together; past those both loop reconnecting forever, so ours refuse them with a sentence.

export const MAX_NAME_BYTES = 31;
/** The longest task name the original worker accepts. */
export const MAX_TASK_NAME_BYTES = 27;
/** The longest worker id and task name, together, that the original controller accepts in a report. */
export const MAX_REPORT_NAMES_BYTES = 58;
/** The largest frame either side may send: 4 + (31 + 1) * 2 + 4. Anything longer is an attack or a bug. */
export const MAX_FRAME = 4 + (MAX_NAME_BYTES + 1) * 2 + 4;

export interface WorkerReport {
  workerId: string;
  taskName: string;
  timeLeft: number;
}

export interface Assignment {
  taskName: string;
  sleepTime: number;
}

export class FrameError extends Error {}

/** A well-formed frame whose names are longer than the original programs accept. */
export class NameTooLong extends FrameError {}

/** A string's UTF-8 length, checked to fit the original's char[32] with its NUL. */
function cstringBytes(s: string, what: string): number {
  const n = Buffer.byteLength(s, 'utf8');
  if (n > MAX_NAME_BYTES) throw new FrameError(`${what} is ${n} bytes; at most ${MAX_NAME_BYTES}`);
  if (s.includes('\0')) throw new FrameError(`${what} contains a NUL byte`);
  return n;
}

// One allocation and no Buffer per string: a worker runs without the JIT (its banner) and encodes
// a report per task, where each Buffer made and copied cost about a microsecond.
function frame(strings: string[], bytes: number[], u32: number): Buffer {
  if (!Number.isInteger(u32) || u32 < 0 || u32 > 0xffffffff) throw new FrameError(`${u32} does not fit in a u32`);
  let total = 4 + 4;
  for (const n of bytes) total += n + 1;
  const out = Buffer.alloc(total); // zero-filled: the NULs are already there
  out.writeUInt32LE(total, 0);
  let o = 4;
  for (let i = 0; i < strings.length; i++) {
    out.write(strings[i], o, 'utf8');
    o += bytes[i] + 1;
  }
  out.writeUInt32LE(u32, o);
  return out;
}

export function encodeReport(r: WorkerReport): Buffer {
  const bytes = [cstringBytes(r.workerId, 'worker id'), cstringBytes(r.taskName, 'task name')];
  checkReportNames(bytes[0], bytes[1]);
  return frame([r.workerId, r.taskName], bytes, r.timeLeft);
}

export function encodeAssignment(a: Assignment): Buffer {
  const bytes = cstringBytes(a.taskName, 'task name');
  checkTaskName(bytes);
  return frame([a.taskName], [bytes], a.sleepTime);
}

function checkTaskName(bytes: number): void {
  if (bytes > MAX_TASK_NAME_BYTES) throw new NameTooLong(`a task name of ${bytes} bytes; the original worker takes at most ${MAX_TASK_NAME_BYTES}`);
}

function checkReportNames(idBytes: number, nameBytes: number): void {
  if (idBytes + nameBytes > MAX_REPORT_NAMES_BYTES) {
    throw new NameTooLong(`a worker id and task name of ${idBytes + nameBytes} bytes together; the original controller takes at most ${MAX_REPORT_NAMES_BYTES}`);
  }
}

/** Reads `count` NUL-terminated strings then exactly one u32; anything else is malformed. */
function decodeBody(body: Buffer, count: number): { strings: string[]; u32: number } {
  const strings: string[] = [];
  let o = 0;
  for (let i = 0; i < count; i++) {
    const nul = body.indexOf(0, o);
    if (nul < 0 || nul - o > MAX_NAME_BYTES) throw new FrameError('a string is unterminated or longer than 31 bytes');
    strings.push(body.toString('utf8', o, nul));
    o = nul + 1;
  }
  if (body.length - o !== 4) throw new FrameError(`expected 4 bytes after the strings, found ${body.length - o}`);
  return { strings, u32: body.readUInt32LE(o) };
}

export function decodeReport(body: Buffer): WorkerReport {
  const { strings, u32 } = decodeBody(body, 2);
  if (strings[0] === '') throw new FrameError('the worker id is empty');
  checkReportNames(Buffer.byteLength(strings[0]), Buffer.byteLength(strings[1]));
  return { workerId: strings[0], taskName: strings[1], timeLeft: u32 };
}

export function decodeAssignment(body: Buffer): Assignment {
  const { strings, u32 } = decodeBody(body, 1);
  checkTaskName(Buffer.byteLength(strings[0]));
  return { taskName: strings[0], sleepTime: u32 };
}

/**
 * Reassembles frames from a TCP stream: a frame may be split across reads, and one read may hold
 * several. Never holds more than one frame's worth of bytes; a length outside [minBody+4, MAX_FRAME]
 * throws at once, before the rest arrives.
 */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly minFrame: number) {}

  push(chunk: Buffer): Buffer[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const bodies: Buffer[] = [];
    while (this.buf.length >= 4) {
      const len = this.buf.readUInt32LE(0);
      if (len < this.minFrame || len > MAX_FRAME) throw new FrameError(`frame length ${len} is outside ${this.minFrame}..${MAX_FRAME}`);
      if (this.buf.length < len) break;
      bodies.push(this.buf.subarray(4, len));
      this.buf = this.buf.subarray(len);
    }
    if (this.buf.length > 0) this.buf = Buffer.from(this.buf); // do not pin a large chunk for a few bytes
    return bodies;
  }
}

/** Smallest valid frames: a one-byte worker id with an empty task name; an empty task name. */
export const MIN_REPORT_FRAME = 4 + 2 + 1 + 4;
export const MIN_ASSIGNMENT_FRAME = 4 + 1 + 4;
