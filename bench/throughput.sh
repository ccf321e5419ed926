#!/usr/bin/env bash
# Engine throughput, each figure beside its baseline from the same run:
#   search with storage on (trials/min, and trials per commit) at parallelism 1, 4
#   and 16 vs a bare bbolt commit of one trial;
#   search in bench mode (queries/min) vs a bare table lookup.
#   bash bench/throughput.sh [trials]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20000}
go test -run '^$' -bench 'SearchStored|CommitOneTrial' -benchtime "${n}x" ./storage
go test -run '^$' -bench 'SearchNoStore|TableLookup' -benchtime "${n}x" ./engine
