// The storage floor of durable verification: raw LMDB from C making the writes that
// KeyLedger's writer makes for a batch of `key.accessed` events, and nothing else (no
// decisions, no encoding, no HTTP). Per verification: the event appended to `events`,
// the key's state row rewritten, its usage minute and hour rows rewritten, and its seq
// appended to four posting lists (the key's, the type's, the owner and type's, the
// client IP's); per batch: three checkpoints and one durable commit. Keys are picked at
// random among K keys of 100 owners, each key starting with H postings of history. Row
// sizes are those of `keyledger bench` ledgers (events 150 bytes, key states 220, usage 32).
// Prints verifications/s and the batch latency percentiles.
//   verify_floor DIR [batch=32] [seconds=5] [keys=1000] [history=1000]
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <time.h>
#include <sys/stat.h>
#define CHECK(x) do { int rc_ = (x); if (rc_) { fprintf(stderr, "%s: %s\n", #x, mdb_strerror(rc_)); exit(1);} } while (0)
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec/1e9;}
static int cmp(const void *a, const void *b) { double x = *(double *)a, y = *(double *)b; return x < y ? -1 : x > y; }

static MDB_dbi events, keys, minutes, hours, audit, checkpoints;
static uint64_t seq;
static int nkeys;

static void put(MDB_txn *t, MDB_dbi d, void *k, size_t kn, void *v, size_t vn, unsigned flags) {
  MDB_val key = {kn, k}, val = {vn, v}; CHECK(mdb_put(t, d, &key, &val, flags));
}
// Appends `seq` to a posting list stored in blocks, as KeyLedger does (Store's
// PostingLists.swift): rows keyed by the list's key and the block's first seq (big-endian),
// each holding the gaps after it as varints, at most 256 bytes. The list's last block is
// found, its last seq summed, and the block rewritten one gap longer (or a new one begun).
static void posting(MDB_txn *t, uint8_t *list, size_t n) {
  uint8_t k[64]; memcpy(k, list, n); memset(k + n, 0xff, 8);
  MDB_cursor *c; CHECK(mdb_cursor_open(t, audit, &c));
  MDB_val key = {n + 8, k}, val;
  int rc = mdb_cursor_get(c, &key, &val, MDB_SET_RANGE);
  rc = rc == 0 ? mdb_cursor_get(c, &key, &val, MDB_PREV) : mdb_cursor_get(c, &key, &val, MDB_LAST);
  uint8_t block[256 + 10]; size_t used = 0; uint64_t first = seq;
  if (rc == 0 && key.mv_size == n + 8 && memcmp(key.mv_data, list, n) == 0) {
    memcpy(&first, (uint8_t *)key.mv_data + n, 8); first = __builtin_bswap64(first);
    uint64_t last = first; used = val.mv_size; memcpy(block, val.mv_data, used);
    for (size_t i = 0; i < used;) { uint64_t gap = 0; int shift = 0;
      do { gap |= (uint64_t)(block[i] & 0x7f) << shift; shift += 7; } while (block[i++] & 0x80);
      last += gap; }
    uint8_t gap[10]; size_t g = 0; uint64_t d = seq - last;
    do { gap[g++] = (d & 0x7f) | (d >= 0x80 ? 0x80 : 0); d >>= 7; } while (d);
    if (used + g <= 256) { memcpy(block + used, gap, g); used += g; } else { first = seq; used = 0; }
  }
  uint64_t bfirst = __builtin_bswap64(first); memcpy(k + n, &bfirst, 8);
  key = (MDB_val){n + 8, k}; val = (MDB_val){used, block};
  CHECK(mdb_cursor_put(c, &key, &val, 0));
  mdb_cursor_close(c);
}
static void verify(MDB_txn *t, int k, uint64_t minute) {
  char record[150], state[220], usage[32]; memset(record, 'e', sizeof record);
  memset(state, 's', sizeof state); memset(usage, 'u', sizeof usage);
  seq++;
  uint64_t bseq = __builtin_bswap64(seq); put(t, events, &bseq, 8, record, sizeof record, MDB_APPEND);
  uint8_t id[16] = {0}; memcpy(id, &k, sizeof k);
  put(t, keys, id, 16, state, sizeof state, 0);
  // Usage rows are keyed by time, then key id.
  uint8_t row[24]; memcpy(row + 8, id, 16);
  uint64_t m = __builtin_bswap64(minute); memcpy(row, &m, 8); put(t, minutes, row, 24, usage, sizeof usage, 0);
  uint64_t h = __builtin_bswap64(minute / 60); memcpy(row, &h, 8); put(t, hours, row, 24, usage, sizeof usage, 0);
  uint8_t list[24];
  list[0] = 1; memcpy(list + 1, id, 16); posting(t, list, 17);
  list[0] = 3; list[1] = 7; posting(t, list, 2);
  list[0] = 4; list[1] = 7; list[2] = 0; list[3] = 6; memcpy(list + 4, "org_", 4);
  list[8] = '0' + k % 10; list[9] = '0' + (k / 10) % 10; posting(t, list, 10);
  list[0] = 6; memset(list + 1, 0, 16); list[11] = list[12] = 0xff; list[13] = 127; list[16] = 1; posting(t, list, 17);
}

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: verify_floor DIR [batch] [seconds] [keys] [history]\n"); return 2; }
  int batch = argc > 2 ? atoi(argv[2]) : 32; double secs = argc > 3 ? atof(argv[3]) : 5;
  nkeys = argc > 4 ? atoi(argv[4]) : 1000; int history = argc > 5 ? atoi(argv[5]) : 1000;
  mkdir(argv[1], 0700);
  char cmd[4096]; snprintf(cmd, sizeof cmd, "rm -f %s/data.mdb %s/lock.mdb", argv[1], argv[1]); system(cmd);
  MDB_env *env; CHECK(mdb_env_create(&env)); CHECK(mdb_env_set_maxdbs(env, 16));
  CHECK(mdb_env_set_mapsize(env, (size_t)16 << 30)); CHECK(mdb_env_open(env, argv[1], 0, 0600));
  MDB_txn *t; CHECK(mdb_txn_begin(env, NULL, 0, &t));
  CHECK(mdb_dbi_open(t, "events", MDB_CREATE, &events)); CHECK(mdb_dbi_open(t, "keys", MDB_CREATE, &keys));
  CHECK(mdb_dbi_open(t, "usage_by_minute", MDB_CREATE, &minutes)); CHECK(mdb_dbi_open(t, "usage_by_hour", MDB_CREATE, &hours));
  CHECK(mdb_dbi_open(t, "audit_postings", MDB_CREATE, &audit));
  CHECK(mdb_dbi_open(t, "checkpoints", MDB_CREATE, &checkpoints));
  // History: `history` accesses per key, one minute apart per round.
  uint64_t minute = 29000000;
  srand(1);
  for (int round = 0; round < history; round++, minute++) for (int k = 0; k < nkeys; k++) verify(t, k, minute);
  CHECK(mdb_txn_commit(t));
  size_t cap = 1 << 20, n = 0; double *lat = malloc(cap * sizeof *lat);
  double start = now(), end = start + secs; uint64_t done = 0;
  while (now() < end) {
    double t0 = now();
    CHECK(mdb_txn_begin(env, NULL, 0, &t));
    for (int i = 0; i < batch; i++) verify(t, rand() % nkeys, minute);
    for (int c = 0; c < 3; c++) { char name[8] = "cp0"; name[2] += c; put(t, checkpoints, name, 3, &seq, 8, 0); }
    CHECK(mdb_txn_commit(t));
    if (n < cap) lat[n++] = now() - t0;
    done += batch;
    if (done % (batch * 4096) == 0) minute++;
  }
  double d = now() - start;
  qsort(lat, n, sizeof *lat, cmp);
  printf("verify floor: %lu verifications in %.3fs = %.0f/s (batches of %d: p50 %.2f ms, p99 %.2f ms; "
         "%d keys, %d postings of history each)\n", done, d, done / d, batch, 1000 * lat[n / 2],
         1000 * lat[n * 99 / 100], nkeys, history);
  mdb_env_close(env);
  return 0;
}
