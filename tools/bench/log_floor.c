// The storage floor of the write path: raw LMDB from C committing the log alone, what
// KeyLedger's durable commit holds. It appends the records of an existing ledger's log
// (SRC's `events` table: the same bytes, cycled), under new sequence numbers, in batches
// of BATCH records, one durable commit per batch, to a fresh environment at DST. Prints
// records/s and the commit latency percentiles.
// With `file` as a fifth argument it writes the same records (with their seq) to a file
// instead, zero-filled ahead as KeyLedger keeps its log's file, one pwrite and one
// fdatasync per batch: the physical limit of durably logging those bytes on this machine.
// With `direct` it writes them as KeyLedger's journal does: to a file of zeros opened
// O_DIRECT | O_DSYNC, one write per batch of the whole 4 KiB blocks the batch touches
// (the block the last batch ended in written again).
//   log_floor SRC DST [batch=32] [seconds=5] [lmdb|file|direct]
#define _GNU_SOURCE
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <time.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/resource.h>
#define CHECK(x) do { int rc_ = (x); if (rc_) { fprintf(stderr, "%s: %s\n", #x, mdb_strerror(rc_)); exit(1);} } while (0)
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec/1e9;}
static double system_seconds(void){struct rusage u;getrusage(RUSAGE_SELF,&u);return u.ru_stime.tv_sec+u.ru_stime.tv_usec/1e6;}
static int cmp(const void *a, const void *b) { double x = *(double *)a, y = *(double *)b; return x < y ? -1 : x > y; }

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: log_floor SRC DST [batch] [seconds]\n"); return 2; }
  int batch = argc > 3 ? atoi(argv[3]) : 32; double secs = argc > 4 ? atof(argv[4]) : 5;
  if (batch < 1) batch = 1;
  // The source's records, at most 100,000 of its last ones.
  MDB_env *src; CHECK(mdb_env_create(&src)); CHECK(mdb_env_set_maxdbs(src, 64));
  CHECK(mdb_env_open(src, argv[1], MDB_RDONLY, 0600));
  MDB_txn *t; CHECK(mdb_txn_begin(src, NULL, MDB_RDONLY, &t));
  MDB_dbi events; CHECK(mdb_dbi_open(t, "events", 0, &events));
  MDB_cursor *c; CHECK(mdb_cursor_open(t, events, &c));
  size_t cap = 100000, n = 0, bytes = 0; MDB_val *records = malloc(cap * sizeof *records);
  MDB_val key, val;
  for (int rc = mdb_cursor_get(c, &key, &val, MDB_LAST); rc == 0 && n < cap; rc = mdb_cursor_get(c, &key, &val, MDB_PREV)) {
    void *copy = malloc(val.mv_size); memcpy(copy, val.mv_data, val.mv_size);
    records[n++] = (MDB_val){val.mv_size, copy}; bytes += val.mv_size;
  }
  mdb_cursor_close(c); mdb_txn_abort(t); mdb_env_close(src);
  if (n == 0) { fprintf(stderr, "log_floor: %s has no events\n", argv[1]); return 1; }
  mkdir(argv[2], 0700);
  int direct = argc > 5 && strcmp(argv[5], "direct") == 0;
  if (argc > 5 && (strcmp(argv[5], "file") == 0 || direct)) {
    char path[4096]; snprintf(path, sizeof path, "%s/log.file", argv[2]);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) { perror(path); return 1; }
    size_t size = (size_t)1 << 30, zeroed = 64 << 20; static char zeros[1 << 20];
    for (size_t o = 0; o < zeroed; o += sizeof zeros) if (pwrite(fd, zeros, sizeof zeros, o) < 0) { perror("pwrite"); return 1; }
    fdatasync(fd);
    if (direct) {
      // The journal's size: 16 MB, started over from its beginning when full.
      size = 16 << 20; zeroed = size;
      close(fd); fd = open(path, O_RDWR | O_DSYNC | O_DIRECT);
      if (fd < 0) { perror("O_DIRECT"); return 1; }
    }
    char *buffer; size_t offset = 0;
    if (posix_memalign((void **)&buffer, 4096, (size_t)batch * 65536 + 8192)) { perror("posix_memalign"); return 1; }
    size_t lcap = 1 << 20, ln = 0; double *lat = malloc(lcap * sizeof *lat);
    uint64_t seq = 0, done = 0; size_t next = 0;
    double start = now(), end = start + secs, sys0 = system_seconds();
    while (now() < end) {
      double t0 = now();
      size_t head = direct ? offset % 4096 : 0;  // the last block's bytes (at buffer's start), written again
      size_t used = head;
      for (int i = 0; i < batch; i++) {
        uint64_t s = ++seq; memcpy(buffer + used, &s, 8); used += 8;
        memcpy(buffer + used, records[next].mv_data, records[next].mv_size); used += records[next].mv_size;
        next = (next + 1) % n;
      }
      if (offset + used > zeroed) {  // keep zeros ahead, as KeyLedger does (not timed)
        double z0 = now();
        for (size_t o = zeroed; o < zeroed + (64 << 20) && o < size; o += sizeof zeros) pwrite(fd, zeros, sizeof zeros, o);
        fdatasync(fd); zeroed += 64 << 20; start += now() - z0; end += now() - z0; t0 += now() - z0;
      }
      if (direct) {
        size_t length = (used + 4095) & ~(size_t)4095;
        if (offset - head + length > size) {  // started over, as the journal after a commit
          memmove(buffer, buffer + head, used - head); used -= head; head = 0; offset = 0;
          length = (used + 4095) & ~(size_t)4095;
        }
        memset(buffer + used, 0, length - used);
        if (pwrite(fd, buffer, length, offset - head) != (ssize_t)length) { perror("pwrite"); return 1; }
        offset += used - head;
        size_t tail = used % 4096;
        memmove(buffer, buffer + used - tail, tail);
      } else {
        if (offset + used > size) offset = 0;
        if (pwrite(fd, buffer, used, offset) != (ssize_t)used) { perror("pwrite"); return 1; }
        offset += used;
        if (fdatasync(fd)) { perror("fdatasync"); return 1; }
      }
      if (ln < lcap) lat[ln++] = now() - t0;
      done += batch;
    }
    double d = now() - start;
    qsort(lat, ln, sizeof *lat, cmp);
    printf("%s floor: %lu records in %.3fs = %.0f/s (batches of %d: p50 %.2f ms, p99 %.2f ms; %.0f bytes/record; "
           "kernel CPU %.0f us/write)\n",
           direct ? "direct" : "file", done, d, done / d, batch, 1000 * lat[ln / 2], 1000 * lat[ln * 99 / 100], (double)bytes / n,
           1e6 * (system_seconds() - sys0) / ln);
    close(fd); unlink(path);
    return 0;
  }
  char cmd[4096]; snprintf(cmd, sizeof cmd, "rm -f %s/data.mdb %s/lock.mdb", argv[2], argv[2]); system(cmd);
  MDB_env *env; CHECK(mdb_env_create(&env)); CHECK(mdb_env_set_maxdbs(env, 16));
  CHECK(mdb_env_set_mapsize(env, (size_t)16 << 30)); CHECK(mdb_env_open(env, argv[2], 0, 0600));
  CHECK(mdb_txn_begin(env, NULL, 0, &t)); CHECK(mdb_dbi_open(t, "events", MDB_CREATE, &events));
  CHECK(mdb_txn_commit(t));
  size_t lcap = 1 << 20, ln = 0; double *lat = malloc(lcap * sizeof *lat);
  uint64_t seq = 0, done = 0; size_t next = 0;
  double start = now(), end = start + secs;
  while (now() < end) {
    double t0 = now();
    CHECK(mdb_txn_begin(env, NULL, 0, &t));
    for (int i = 0; i < batch; i++) {
      uint64_t bseq = __builtin_bswap64(++seq);
      MDB_val k = {8, &bseq}, v = records[next]; next = (next + 1) % n;
      CHECK(mdb_put(t, events, &k, &v, MDB_APPEND));
    }
    CHECK(mdb_txn_commit(t));
    if (ln < lcap) lat[ln++] = now() - t0;
    done += batch;
  }
  double d = now() - start;
  qsort(lat, ln, sizeof *lat, cmp);
  printf("log floor: %lu records in %.3fs = %.0f/s (batches of %d: p50 %.2f ms, p99 %.2f ms; %.0f bytes/record)\n",
         done, d, done / d, batch, 1000 * lat[ln / 2], 1000 * lat[ln * 99 / 100], (double)bytes / n);
  mdb_env_close(env);
  return 0;
}
