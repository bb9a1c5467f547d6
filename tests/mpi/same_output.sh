#!/bin/bash
# Runs a process-pool example and its MPI port and checks that they print the
# same lines, leaving out the timing line (and, with --sorted, ignoring the
# order: an as_completed program prints in completion order).
#   same_output.sh [--sorted] TIMING_REGEX -- POOL_COMMAND... -- MPI_COMMAND...
set -euo pipefail
sorted=cat
if [[ $1 == --sorted ]]; then sorted=sort; shift; fi
timing=$1; shift
[[ $1 == -- ]] && shift
pool=(); while [[ $1 != -- ]]; do pool+=("$1"); shift; done; shift
mpi=("$@")
a=$("${pool[@]}" | grep -Ev "$timing" | $sorted)
b=$("${mpi[@]}" | grep -Ev "$timing" | $sorted)
if [[ "$a" != "$b" ]]; then
  echo "outputs differ:"; diff <(echo "$a") <(echo "$b") || true; exit 1
fi
echo "same output ($(echo "$a" | wc -l) lines) from: ${pool[*]}  and: ${mpi[*]}"
