#!/usr/bin/env bash
# Storage floors: raw LMDB from C making exactly the reads and writes KeyLedger makes,
# and nothing else, so our figures can be read as a share of what the storage allows.
#   tools/bench/floor.sh replay DIR                  scan DIR's log and write all of its
#                                                    projection rows (replay_floor.c)
#   tools/bench/floor.sh verify BATCH SECONDS        durable batches of BATCH verifications'
#                                                    writes over 1,000 keys (verify_floor.c)
#   tools/bench/floor.sh log DIR BATCH SECONDS       durable batches of BATCH of DIR's log
#                                                    records, the log alone (log_floor.c)
#   tools/bench/floor.sh file DIR BATCH SECONDS      the same records appended to a zero-filled
#                                                    file, one fdatasync per batch: the
#                                                    physical limit of durable logging
#   tools/bench/floor.sh direct DIR BATCH SECONDS    the same records as the journal writes
#                                                    them: O_DIRECT | O_DSYNC, whole 4 KiB
#                                                    blocks, one write per batch
#   tools/bench/floor.sh wakeup [ROUNDS]             two threads passing a token through
#                                                    eventfds, each asleep in epoll_wait:
#                                                    what a hand-off between threads costs,
#                                                    unpinned, on one CPU and across two
#                                                    (wakeup_floor.c; three lines)
# Each storage floor prints one line; its "= N/s" or "= N events/s" figure is the floor.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
probe() { gcc -O2 -Wall -Werror -o "$work/$1" "$here/$1.c" -llmdb; }
case "${1:-}" in
  replay) probe replay_floor; "$work/replay_floor" "$2" "$work/scratch" | sed -E 's/ \(chk [0-9]+\)$//' ;;
  verify) probe verify_floor; "$work/verify_floor" "$work/scratch" "$2" "$3" 1000 1 ;;
  log) probe log_floor; "$work/log_floor" "$2" "$work/scratch" "$3" "$4" ;;
  file) probe log_floor; "$work/log_floor" "$2" "$work/scratch" "$3" "$4" file ;;
  direct) probe log_floor; "$work/log_floor" "$2" "$work/scratch" "$3" "$4" direct ;;
  wakeup) gcc -O2 -Wall -Werror -o "$work/wakeup_floor" "$here/wakeup_floor.c" -lpthread; "$work/wakeup_floor" "${2:-2000}" ;;
  *) echo "usage: floor.sh replay DIR | floor.sh verify BATCH SECONDS | floor.sh log|file|direct DIR BATCH SECONDS | floor.sh wakeup [ROUNDS]" >&2; exit 2 ;;
esac
