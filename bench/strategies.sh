#!/usr/bin/env bash
# Strategy benchmark on NAS-Bench-201 CIFAR-10: every built-in strategy, 100 runs of
# 300 queries, storage off. Prints the table and writes bench/out/strategies.csv.
#   bash bench/strategies.sh [runs] [budget]
set -euo pipefail
cd "$(dirname "$0")/.."
table=${CELLAR_SHARED:-../shared}/data/nb201/cifar10.csv
[ -f "$table" ] || { echo "no NAS-Bench-201 table at $table (set CELLAR_SHARED)" >&2; exit 1; }
mkdir -p bench/out
go run . bench --table "$table" --strategies random,evolution,regevo,local \
  --runs "${1:-100}" --budget "${2:-300}" --csv bench/out/strategies.csv
