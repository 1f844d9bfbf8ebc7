// tw-beat-watch: looks at a feedback file at each RUNNING threshold on behalf of launch, so that a
// task that keeps beating costs one wake-up of this small process per quarter timeout, not one of
// Node's (a Node timer wake-up costs 3-4 times more CPU on the virtual machines here).
//
// launch hands over while the task is RUNNING and takes back what follows (SILENT, STALLED, the kill):
//   in:  "W <us since the beat> <us of the RUNNING period> <mtime ns|-> <ctime ns|->\n"  watch
//   out: "Q <us since the beat> <mtime ns|-> <ctime ns|->\n"   no beat for a whole period: yours again
// The beat is placed as launch places it (src/launch/heartbeat.ts): a change of the file's times
// since the last look is a heartbeat at its ctime, but never earlier than that look nor later than
// now, on the monotonic clock, so a wall-clock step neither ages nor freshens it. Ends at EOF on stdin
// (launch is gone or done). Only lstat is used: the file is never opened or followed.
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int64_t now_us(clockid_t c) {
  struct timespec t;
  clock_gettime(c, &t);
  return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

struct times { int known; int64_t m, c; };

static struct times look(const char *file) {
  struct stat st;
  struct times t = { 0, 0, 0 };
  if (lstat(file, &st) == 0 && S_ISREG(st.st_mode)) {
    t.known = 1;
    t.m = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    t.c = (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec;
  }
  return t;
}

static int parse_ns(const char *s, int64_t *out) {
  if (strcmp(s, "-") == 0) return 0;
  *out = strtoll(s, NULL, 10);
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: tw-beat-watch FILE (commands on stdin; run by launch)\n");
    return 2;
  }
  // The terminal's ^C or hang-up is launch's to handle: this ends when launch closes its stdin.
  signal(SIGINT, SIG_IGN);
  signal(SIGQUIT, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  const char *file = argv[1];
  char buf[512];
  size_t have = 0;
  int watching = 0;
  int64_t beat = 0, looked = 0, period = 0;
  struct times seen = { 0, 0, 0 };
  for (;;) {
    int wait_ms = -1;
    if (watching) {
      int64_t left = beat + period - now_us(CLOCK_MONOTONIC);
      wait_ms = left <= 0 ? 0 : (int)((left + 999) / 1000);
    }
    struct pollfd p = { .fd = 0, .events = POLLIN };
    int r = poll(&p, 1, wait_ms);
    if (r < 0 && errno != EINTR) return 1;
    if (r > 0) {
      ssize_t n = read(0, buf + have, sizeof buf - 1 - have);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return 0;
      have += (size_t)n;
      buf[have] = '\0';
      char *nl;
      while ((nl = strchr(buf, '\n')) != NULL) {
        *nl = '\0';
        long long since, per;
        char m[32], c[32];
        if (sscanf(buf, "W %lld %lld %31s %31s", &since, &per, m, c) == 4 && per > 0) {
          int64_t now = now_us(CLOCK_MONOTONIC);
          beat = now - since;
          looked = now;
          period = per;
          seen.known = parse_ns(m, &seen.m) & parse_ns(c, &seen.c);
          watching = 1;
        }
        size_t used = (size_t)(nl - buf) + 1;
        memmove(buf, nl + 1, have - used + 1);
        have -= used;
      }
      if (have == sizeof buf - 1) have = 0; // a line too long is garbage: dropped
      continue;
    }
    if (!watching) continue;
    int64_t now = now_us(CLOCK_MONOTONIC);
    if (now < beat + period) continue;
    struct times t = look(file);
    if (t.known && (!seen.known || t.m != seen.m || t.c != seen.c)) {
      int64_t age = now_us(CLOCK_REALTIME) - t.c / 1000;
      if (age < 0) age = 0;
      if (age > now - looked) age = now - looked;
      if (now - age > beat) beat = now - age;
      seen = t;
    }
    looked = now;
    if (now - beat < period) continue;
    watching = 0;
    if (seen.known) printf("Q %lld %lld %lld\n", (long long)(now - beat), (long long)seen.m, (long long)seen.c);
    else printf("Q %lld - -\n", (long long)(now - beat));
    fflush(stdout);
  }
}
