// The storage floor of a replay: raw LMDB from C, no decoding and no folding.
// Given a ledger whose projections are built (DIR/projections), it loads every projection row into memory,
// then times what a replay cannot avoid: one cursor scan of the `events` table and, in
// one write transaction of a fresh environment, every projection row appended in key
// order (MDB_APPEND; posting lists are rows of blocks too), and the durable commit.
// Prints events/s: the most any replay of this ledger can reach on this machine.
//   replay_floor LEDGER_DIR SCRATCH_DIR
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <time.h>
#include <sys/stat.h>
#define CHECK(x) do { int rc_ = (x); if (rc_) { fprintf(stderr, "%s: %s\n", #x, mdb_strerror(rc_)); exit(1);} } while (0)
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec/1e9;}

typedef struct { size_t n, cap; MDB_val *keys, *vals; const char *name; } Rows;

static void push(Rows *r, MDB_val k, MDB_val v) {
  if (r->n == r->cap) { r->cap = r->cap ? 2 * r->cap : 1024;
    r->keys = realloc(r->keys, r->cap * sizeof *r->keys); r->vals = realloc(r->vals, r->cap * sizeof *r->vals); }
  void *kc = malloc(k.mv_size); memcpy(kc, k.mv_data, k.mv_size);
  void *vc = malloc(v.mv_size); memcpy(vc, v.mv_data, v.mv_size);
  r->keys[r->n] = (MDB_val){k.mv_size, kc}; r->vals[r->n] = (MDB_val){v.mv_size, vc}; r->n++;
}

// Loads a table.
static void load(MDB_txn *txn, const char *name, Rows *r) {
  memset(r, 0, sizeof *r); r->name = name;
  MDB_dbi dbi; if (mdb_dbi_open(txn, name, 0, &dbi)) return;
  MDB_cursor *c; CHECK(mdb_cursor_open(txn, dbi, &c)); MDB_val k, v;
  for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) push(r, k, v);
  mdb_cursor_close(c);
}

int main(int argc, char **argv) {
  if (argc != 3) { fprintf(stderr, "usage: replay_floor LEDGER_DIR SCRATCH_DIR\n"); return 2; }
  static const char *tables[] = {"keys", "key_secrets", "key_owners", "key_expiries", "key_snapshots",
                                 "usage_by_minute", "usage_by_hour", "audit_postings", "merkle_tiles", "merkle_edge",
                                 "quota_keys", "quota_members", "quota_owners", "quota_plans",
                                 "webhooks", "webhook_owners", "expiry_warnings"};
  enum { NTABLES = sizeof tables / sizeof *tables };
  Rows rows[NTABLES];
  // The projections' rows: in LEDGER_DIR/projections (their own environment), or in the
  // log's environment for a ledger of a release before it.
  char projections[4096]; snprintf(projections, sizeof projections, "%s/projections", argv[1]);
  struct stat st; const char *from = stat(projections, &st) == 0 ? projections : argv[1];
  MDB_env *prj; CHECK(mdb_env_create(&prj)); CHECK(mdb_env_set_maxdbs(prj, 64));
  CHECK(mdb_env_open(prj, from, MDB_RDONLY, 0600));
  MDB_txn *rd; CHECK(mdb_txn_begin(prj, NULL, MDB_RDONLY, &rd));
  for (int i = 0; i < NTABLES; i++) load(rd, tables[i], &rows[i]);
  mdb_txn_abort(rd); mdb_env_close(prj);
  MDB_env *src; CHECK(mdb_env_create(&src)); CHECK(mdb_env_set_maxdbs(src, 64));
  CHECK(mdb_env_open(src, argv[1], MDB_RDONLY, 0600));

  mkdir(argv[2], 0700);
  char cmd[4096]; snprintf(cmd, sizeof cmd, "rm -f %s/data.mdb %s/lock.mdb", argv[2], argv[2]); system(cmd);
  MDB_env *dst; CHECK(mdb_env_create(&dst)); CHECK(mdb_env_set_maxdbs(dst, 32));
  CHECK(mdb_env_set_mapsize(dst, (size_t)64 << 30)); CHECK(mdb_env_open(dst, argv[2], 0, 0600));

  double t = now();
  CHECK(mdb_txn_begin(src, NULL, MDB_RDONLY, &rd));
  MDB_dbi events; CHECK(mdb_dbi_open(rd, "events", 0, &events));
  MDB_cursor *c; CHECK(mdb_cursor_open(rd, events, &c)); MDB_val k, v; uint64_t n = 0, sum = 0;
  while (mdb_cursor_get(c, &k, &v, MDB_NEXT) == 0) { n++; sum += ((unsigned char *)v.mv_data)[0]; }
  mdb_cursor_close(c); mdb_txn_abort(rd);
  double scanned = now() - t;
  MDB_txn *w; CHECK(mdb_txn_begin(dst, NULL, 0, &w));
  size_t written = 0;
  for (int i = 0; i < NTABLES; i++) {
    MDB_dbi dbi; CHECK(mdb_dbi_open(w, rows[i].name, MDB_CREATE, &dbi));
    MDB_cursor *wc; CHECK(mdb_cursor_open(w, dbi, &wc));
    for (size_t j = 0; j < rows[i].n; j++) CHECK(mdb_cursor_put(wc, &rows[i].keys[j], &rows[i].vals[j], MDB_APPEND));
    written += rows[i].n;
    mdb_cursor_close(wc);
  }
  double put = now() - t - scanned;
  CHECK(mdb_txn_commit(w));
  double d = now() - t;
  printf("replay floor: %lu events scanned in %.3fs, %zu rows put in %.3fs, committed in %.3fs; "
         "%.3fs in all = %.0f events/s (chk %lu)\n", n, scanned, written, put, d - scanned - put, d, n / d, sum);
  mdb_env_close(dst); mdb_env_close(src);
  return 0;
}
