import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeAssignment, decodeReport, encodeAssignment, encodeReport, FrameError, FrameReader, MAX_FRAME, MIN_ASSIGNMENT_FRAME, MIN_REPORT_FRAME,
} from '../src/demo/frame';

test('frames are byte for byte the original: u32le total length (counting itself), NUL-terminated strings, u32le', () => {
  assert.deepEqual(
    [...encodeReport({ workerId: 'w1', taskName: 'task_1', timeLeft: 5 })],
    [18, 0, 0, 0, 0x77, 0x31, 0, 0x74, 0x61, 0x73, 0x6b, 0x5f, 0x31, 0, 5, 0, 0, 0],
  );
  assert.deepEqual([...encodeReport({ workerId: 'w', taskName: '', timeLeft: 0 })], [11, 0, 0, 0, 0x77, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual([...encodeAssignment({ taskName: 'ab', sleepTime: 0x01020304 })], [11, 0, 0, 0, 0x61, 0x62, 0, 4, 3, 2, 1]);
  assert.deepEqual([...encodeAssignment({ taskName: '', sleepTime: 0 })], [9, 0, 0, 0, 0, 0, 0, 0, 0]);
});

test('decode inverts encode; malformed bodies are refused', () => {
  const r = { workerId: 'worker_1', taskName: 'task_53782', timeLeft: 4294967295 };
  assert.deepEqual(decodeReport(encodeReport(r).subarray(4)), r);
  assert.deepEqual(decodeAssignment(encodeAssignment({ taskName: 'task_9', sleepTime: 22 }).subarray(4)), { taskName: 'task_9', sleepTime: 22 });
  const bad: Array<[string, Buffer]> = [
    ['no NUL', Buffer.from('abcdefgh')],
    ['one string only', Buffer.from('w\0\0\0\0\0')],
    ['trailing bytes', Buffer.concat([Buffer.from('w\0t\0'), Buffer.alloc(5)])],
    ['short u32', Buffer.from('w\0t\0\0\0')],
    ['32-byte worker id', Buffer.concat([Buffer.from(`${'x'.repeat(32)}\0t\0`), Buffer.alloc(4)])],
    ['empty worker id', Buffer.concat([Buffer.from('\0t\0'), Buffer.alloc(4)])],
  ];
  for (const [what, body] of bad) assert.throws(() => decodeReport(body), FrameError, what);
  assert.throws(() => encodeReport({ workerId: 'w', taskName: 't'.repeat(32), timeLeft: 0 }), FrameError);
  assert.ok(encodeReport({ workerId: 'w'.repeat(31), taskName: 't'.repeat(27), timeLeft: 0 }).length <= MAX_FRAME);
});

test('FrameReader: split at every byte, several per chunk, and bounded lengths', () => {
  const frames = [encodeReport({ workerId: 'a', taskName: '', timeLeft: 0 }), encodeReport({ workerId: 'bb', taskName: 'task_2', timeLeft: 7 })];
  const stream = Buffer.concat([...frames, ...frames]);
  const r1 = new FrameReader(MIN_REPORT_FRAME);
  const got: string[] = [];
  for (const byte of stream) for (const b of r1.push(Buffer.from([byte]))) got.push(decodeReport(b).workerId);
  assert.deepEqual(got, ['a', 'bb', 'a', 'bb']);
  const r2 = new FrameReader(MIN_REPORT_FRAME);
  assert.equal(r2.push(stream).length, 4);
  const huge = Buffer.alloc(4);
  huge.writeUInt32LE(0xffffffff);
  assert.throws(() => new FrameReader(MIN_REPORT_FRAME).push(huge), /outside/);
  const tiny = Buffer.alloc(4);
  tiny.writeUInt32LE(4);
  assert.throws(() => new FrameReader(MIN_ASSIGNMENT_FRAME).push(tiny), /outside/);
});
