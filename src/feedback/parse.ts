// The feedback grammar: `[key]value` lines, later lines win, `[key]` removes a key, `[]` removes all.
// Pure: text in, ordered map out. FeedbackParser takes text in pieces so that a huge file is parsed
// in one pass with memory bounded by the number of distinct keys, not by the file's size.

export type Feedback = Map<string, string>;

/** Keys: letters, digits, `_` and `-`, not starting with a digit, no spaces. */
const KEY = /^[\p{L}_-][\p{L}\p{Nd}_-]*$/u;
const LINE = /^[ \t]*\[([^\]]*)\](.*)$/s;

/** Lines longer than this are malformed by definition: skipping them keeps memory bounded. */
export const MAX_LINE_CHARS = 1 << 20;

/** Applies one line (without its newline) to `into`. Returns false if the line was ignored. */
export function applyLine(into: Feedback, raw: string): boolean {
  const line = raw.trimEnd(); // linear, unlike a /\s+$/ regex on a long line of spaces
  if (line === '' || line.startsWith('#')) return false;
  const m = LINE.exec(line);
  if (!m) return false;
  const [, key, value] = m;
  if (key === '') {
    if (value !== '') return false; // `[]junk` is not the clear-all line
    into.clear();
    return true;
  }
  if (!KEY.test(key)) return false;
  if (value === '') into.delete(key);
  else into.set(key, value);
  return true;
}

export class FeedbackParser {
  readonly values: Feedback = new Map();
  private partial = '';
  private skipping = false; // inside an over-long line: drop text until its newline
  lines = 0;
  ignored = 0;

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
    if (text.length > MAX_LINE_CHARS || !applyLine(this.values, text)) this.ignored++;
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
