import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FeedbackParser, MAX_LINE_CHARS, parseFeedback, toObject } from '../src/feedback/parse';
import { readFeedbackFile } from '../src/feedback/file';
import { tmpdir } from './helpers';

const obj = (text: string) => toObject(parseFeedback(text));

// [name, input, expected object]
const CASES: Array<[string, string, Record<string, string>]> = [
  ['sets a key', '[progress]12\n', { progress: '12' }],
  ['later lines win', '[p]1\n[p]2\n[p]3', { p: '3' }],
  ['value is the rest of the line', '[msg]hello world [x] y\n', { msg: 'hello world [x] y' }],
  ['trailing white space and CR removed', '[a]v  \t\r\n[b]w\r\n', { a: 'v', b: 'w' }],
  ['leading white space of the value kept', '[a]  v\n', { a: '  v' }],
  ['leading white space before [ tolerated', '   \t[a]1\n', { a: '1' }],
  ['[key] with no value removes it', '[a]1\n[b]2\n[a]\n', { b: '2' }],
  ['[key] followed by only spaces removes it', '[a]1\n[a]   \n', {}],
  ['[] removes everything so far', '[a]1\n[b]2\n[]\n[c]3\n', { c: '3' }],
  ['[]junk is ignored, not a clear', '[a]1\n[]junk\n', { a: '1' }],
  ['comments ignored', '#[a]1\n# note\n[b]2\n', { b: '2' }],
  ['empty lines ignored', '\n\n[a]1\n\n', { a: '1' }],
  ['non-matching lines ignored', 'hello\na]b\n[unclosed\n[a]1\n', { a: '1' }],
  ['key starting with a digit ignored', '[1abc]x\n[a1]y\n', { a1: 'y' }],
  ['key with a space ignored', '[a b]x\n', {}],
  ['key with other punctuation ignored', '[a.b]x\n[a/b]y\n', {}],
  ['underscore and dash allowed anywhere', '[_a-b_c]x\n[-lead]y\n', { '_a-b_c': 'x', '-lead': 'y' }],
  ['unicode letters allowed', '[état]ok\n', { état: 'ok' }],
  ['no final newline', '[a]1', { a: '1' }],
  ['the original README example', '[info]Starting test\n[playbook]myPlaybook\n[info]\n[heartbeat]\n[testcase_id]001\n[testcase_name]Initialization\n[progress]12\n[progress]15\n[testcase_id]002\n[testcase_name]Setting up topology\n[progress]10\n',
    { playbook: 'myPlaybook', testcase_id: '002', testcase_name: 'Setting up topology', progress: '10' }],
  ['__proto__ is an ordinary key', '[__proto__]x\n', JSON.parse('{"__proto__":"x"}')],
];

for (const [name, input, expected] of CASES) {
  test(`grammar: ${name}`, () => assert.deepEqual(obj(input), expected));
}

test('grammar: keys keep first-set order; a removed key re-added goes last', () => {
  assert.deepEqual(Object.keys(obj('[b]1\n[a]2\n[c]3\n[b]4\n')), ['b', 'a', 'c']);
  assert.deepEqual(Object.keys(obj('[b]1\n[a]2\n[b]\n[b]5\n')), ['a', 'b']);
});

test('grammar: text split at any point parses the same as whole', () => {
  const text = '[alpha]1\r\n  [beta]two words\n#c\n[alpha]\n[gamma]3\n[]\n[delta]4\n[eps]5';
  const whole = obj(text);
  for (let i = 0; i <= text.length; i++) {
    const p = new FeedbackParser();
    p.push(text.slice(0, i));
    p.push(text.slice(i));
    assert.deepEqual(toObject(p.end()), whole, `split at ${i}`);
  }
});

test('grammar: an over-long line is skipped and parsing goes on', () => {
  const p = new FeedbackParser();
  p.push('[a]1\n[big]');
  for (let i = 0; i < 5; i++) p.push('x'.repeat(MAX_LINE_CHARS / 2));
  p.push('\n[b]2\n');
  assert.deepEqual(toObject(p.end()), { a: '1', b: '2' });
  assert.equal(p.ignored, 1);
});

test('file: a large file is parsed in one streaming pass with the right result', () => {
  const dir = tmpdir();
  const file = path.join(dir, 'big.log');
  const lines: string[] = [];
  for (let i = 0; i < 300_000; i++) lines.push(`[k${i % 50}]${i}`);
  lines.push('[k7]', '[last]yes');
  fs.writeFileSync(file, lines.join('\n'));
  const r = readFeedbackFile(file);
  assert.equal(r.found, true);
  assert.equal(r.lines, 300_002);
  assert.equal(Object.keys(r.values).length, 50);
  assert.equal(r.values.k7, undefined);
  assert.equal(r.values.k49, '299999');
  assert.equal(r.values.last, 'yes');
});

test('file: missing is found:false; invalid UTF-8 and NUL bytes do not throw', () => {
  const dir = tmpdir();
  assert.deepEqual(readFeedbackFile(path.join(dir, 'none')).found, false);
  const file = path.join(dir, 'bin.log');
  fs.writeFileSync(file, Buffer.concat([Buffer.from('[a]ok\n'), Buffer.from([0xff, 0xfe, 0x00, 0x80, 0x0a]), Buffer.from([0x5b, 0x62, 0x5d, 0xc3, 0x0a]), Buffer.from('[c]é\n', 'utf8')]));
  const r = readFeedbackFile(file);
  assert.equal(r.values.a, 'ok');
  assert.equal(r.values.b, '\uFFFD', 'a truncated UTF-8 sequence becomes U+FFFD');
  assert.equal(r.values.c, 'é');
});
