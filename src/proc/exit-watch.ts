import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { isSameProcess } from './identity';

// Waiting for a process that is not our child, without polling: Node has no pidfd, so a few lines of
// Perl open one (pidfd_open, Linux 5.3 and later; 434 on every architecture) and block until it
// is readable, which it becomes when the process exits; then Perl exits, and its exit is our event.
// The pid is proven afterwards (its start time), since it could have been reused before the open.

const WATCHER = `
my $fd = syscall(434, $ARGV[0] + 0, 0);
if ($fd < 0) { print "unsupported\\n"; exit 1 }
$| = 1;
print "watching\\n";
my $rin = '';
vec($rin, $fd, 1) = 1;
select($rin, undef, undef, undef);
`;

const PERL = ['/usr/bin/perl', '/bin/perl'].find((p) => existsSync(p)) ?? null;

export interface ExitWatch {
  /** Resolves once the process has exited (or turned out not to be the one meant). */
  gone: Promise<void>;
  close(): void;
}

/**
 * Tells when process (pid, start) exits. Where pidfd cannot be had (no Perl, an old kernel), it
 * looks again every `fallbackMs`: the one case of polling, said by `polling`.
 */
export function watchExit(pid: number, start: number, fallbackMs = 1000): ExitWatch & { polling: Promise<boolean> } {
  let close = () => {};
  let polling!: (v: boolean) => void;
  const pollingP = new Promise<boolean>((r) => (polling = r));
  const gone = new Promise<void>((resolve) => {
    const poll = () => {
      polling(true);
      const timer = setInterval(() => {
        if (!isSameProcess(pid, start)) {
          clearInterval(timer);
          resolve();
        }
      }, fallbackMs);
      close = () => clearInterval(timer);
    };
    if (!PERL) return poll();
    const p = spawn(PERL, ['-e', WATCHER, String(pid)], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    let ready = false;
    p.on('error', () => poll());
    p.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (!ready && out.startsWith('watching\n')) {
        ready = true;
        polling(false);
        if (!isSameProcess(pid, start)) resolve(); // the pid was someone else's by the time it was opened
      }
    });
    p.on('exit', () => {
      if (ready) resolve();
      else if (out.startsWith('unsupported')) poll();
      else resolve(); // no such process to open: gone already
    });
    close = () => p.kill('SIGKILL');
  });
  return { gone, polling: pollingP, close: () => close() };
}
