#!/usr/bin/env bash
# Engine throughput, each figure beside its baselines from the same run:
#   search with storage on (trials/min, and trials per commit) at parallelism 1, 4
#   and 16, against the same search committing each trial alone (the engine before
#   group commit; the two run in alternating rounds, so both meet the same disk) and
#   against a bare bbolt commit of one trial;
#   search in bench mode (queries/min) vs a bare table lookup.
#   bash bench/throughput.sh [trials]     (STORAGE_ONLY=1: the storage part alone)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20000}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
go test -run '^$' -bench 'SearchStored|CommitOneTrial' -benchtime "${n}x" ./storage | tee "$out"
[ "${STORAGE_ONLY:-}" ] || go test -run '^$' -bench 'SearchNoStore|TableLookup' -benchtime "${n}x" ./engine
# The ratios, last: trials/min of group commit over each baseline.
awk '
  function metric(name,   i) { for (i = 1; i < NF; i++) if ($(i+1) == name) return $i }
  /^BenchmarkCommitOneTrial/ { bare = metric("trials/min") }
  /^BenchmarkSearchStored\/parallel=[0-9]+-/ {
    split($1, f, "[=-]"); p = f[2]; order[++k] = p
    group[p] = metric("trials/min"); each[p] = metric("each-trials/min")
  }
  END {
    for (i = 1; i <= k; i++) {
      p = order[i]
      printf "parallelism %s: group commit %.0f trials/min = %.2fx one commit a trial (%.0f), %.2fx a bare one-trial commit (%.0f)\n", p, group[p], group[p]/each[p], each[p], group[p]/bare, bare
    }
  }' "$out"
