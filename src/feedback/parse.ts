// The feedback grammar: `[key]value` lines, later lines win, `[key]` removes a key, `[]` removes all.
// Pure: text in, ordered map out. FeedbackParser takes text in pieces so that a huge file is parsed
// in one pass with memory bounded by the number of distinct keys, not by the file's size.

export type Feedback = Map<string, string>;

/** Keys: letters, digits, `_` and `-`, not starting with a digit, no spaces. */
const KEY = /^[\p{L}_-][\p{L}\p{Nd}_-]*$/u;
const LINE = /^[ \t]*\[([^\]]*)\](.*)$/s;

/** Lines longer than this are malformed by definition: skipping them keeps memory bounded. */
export const MAX_LINE_CHARS = 1 << 20;

/**
 * The caps that bound what one feedback file can cost a reader and a history row: at most
 * MAX_KEYS distinct keys at a time (new keys past it are dropped) and values of at most
 * MAX_VALUE_CHARS (longer ones are cut), so about 4 MB at worst.
 */
export const MAX_KEYS = 1000;
export const MAX_VALUE_CHARS = 4096;

/** What the caps took away, for the archived record to say so. */
export interface Capped {
  keysDropped: number;
  valuesCut: number;
}

export type LineResult = 'applied' | 'ignored' | 'dropped';

/** Applies one line (without its newline) to `into`, within the caps. `cut` is told when a value was shortened. */
export function applyLine(into: Feedback, raw: string, cut: () => void = () => {}): LineResult {
  const line = raw.trimEnd(); // linear, unlike a /\s+$/ regex on a long line of spaces
  if (line === '' || line.startsWith('#')) return 'ignored';
  const m = LINE.exec(line);
  if (!m) return 'ignored';
  const [, key, value] = m;
  if (key === '') {
    if (value !== '') return 'ignored'; // `[]junk` is not the clear-all line
    into.clear();
    return 'applied';
  }
  if (!KEY.test(key)) return 'ignored';
  if (value === '') {
    into.delete(key);
    return 'applied';
  }
  if (into.size >= MAX_KEYS && !into.has(key)) return 'dropped';
  if (value.length > MAX_VALUE_CHARS) cut();
  into.set(key, value.length > MAX_VALUE_CHARS ? value.slice(0, MAX_VALUE_CHARS) : value);
  return 'applied';
}

export class FeedbackParser {
  readonly values: Feedback = new Map();
  private partial = '';
  private skipping = false; // inside an over-long line: drop text until its newline
  lines = 0;
  ignored = 0;
  readonly capped: Capped = { keysDropped: 0, valuesCut: 0 };
  private readonly onCut = () => this.capped.valuesCut++;

  push(text: string): void {
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) break;
      const piece = text.slice(start, nl);
      start = nl + 1;
      if (this.skipping) {
        this.skipping = false;
        this.partial = '';
        continue;
      }
      this.line(this.partial === '' ? piece : this.partial + piece);
      this.partial = '';
    }
    if (this.skipping) return;
    this.partial += text.slice(start);
    if (this.partial.length > MAX_LINE_CHARS) {
      this.partial = '';
      this.skipping = true;
      this.lines++;
      this.ignored++;
    }
  }

  end(): Feedback {
    if (!this.skipping && this.partial !== '') this.line(this.partial);
    this.partial = '';
    this.skipping = false;
    return this.values;
  }

  private line(text: string): void {
    this.lines++;
    const r = text.length > MAX_LINE_CHARS ? 'ignored' : applyLine(this.values, text, this.onCut);
    if (r === 'ignored') this.ignored++;
    else if (r === 'dropped') this.capped.keysDropped++;
  }
}

export function parseFeedback(text: string): Feedback {
  const p = new FeedbackParser();
  p.push(text);
  return p.end();
}

/** The JSON object form; own properties even for names like `__proto__`. */
export function toObject(fb: Feedback): Record<string, string> {
  return Object.fromEntries(fb);
}
