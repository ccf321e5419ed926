#!/usr/bin/env bash
# Strategies on the built-in NAS-Bench-201 CIFAR-10 table: every strategy, 30 runs of
# 100 queries (storage off), best test accuracy seen (mean ± sd), hit@100 (runs that
# reached the optimum, 94.37) and q50 (median queries to it). Three tables:
#   before: the defaults of experiments made before the current ones (defaults 0:
#           every trial evaluated, the predictor without zero-cost proxies);
#   before, with dedupe: function;
#   after:  today's defaults (defaults 1: dedupe by function, the predictor's
#           zero-cost warm start, features and local acquisition).
# Then the goals of issue 45 against the after table, and `N passed, N failed` last.
#   bash bench/strategies.sh [runs] [budget]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-30}
budget=${2:-100}
mkdir -p bench/out
bin=$(mktemp -d)/cellar
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build -o "$bin" .
strategies='[random, evolution, regevo, local, {name: regevo, warm_start: {proxy: synflow, sample: 200}}, predictor]'
run() { "$bin" bench --table nb201 --strategies "$strategies" --runs "$runs" --budget "$budget" "$@"; }
echo "== before: defaults 0"
run --defaults 0 --csv bench/out/strategies-before.csv
echo
echo "== before, with dedupe: function"
run --defaults 0 --dedupe function --csv bench/out/strategies-before-dedupe.csv
echo
echo "== after: defaults 1"
start=$(date +%s)
"$bin" bench --table nb201 --strategies predictor --runs "$runs" --budget "$budget" --csv bench/out/strategies-after-predictor.csv >/dev/null
predictor_s=$(( $(date +%s) - start ))
run --csv bench/out/strategies-after.csv
echo
# The goals, on the predictor's rows of the after table (CSV: strategy, queries,
# metric, mean, std, runs, hits, q50).
passed=0
failed=0
check() { # name, condition (awk), on the predictor's row at queries $3
  local v
  v=$(awk -F, -v q="$3" '$1 == "predictor" && $2 == q { print $'"$4"' }' bench/out/strategies-after.csv)
  if awk -v v="$v" "BEGIN { exit !($2) }"; then
    echo "PASS $1 ($v)"; passed=$((passed + 1))
  else
    echo "FAIL $1 ($v)"; failed=$((failed + 1))
  fi
}
if [ "$runs" = 30 ] && [ "$budget" = 100 ]; then
  check "predictor mean at 100 queries >= 94.35" "v >= 94.35" 100 4
  check "predictor mean at 50 queries >= 94.25" "v >= 94.25" 50 4
  check "predictor runs at the optimum within 100 queries >= 25 of 30" "v >= 25" 100 7
  if awk -v s="$predictor_s" 'BEGIN { exit !(s < 210) }'; then
    echo "PASS predictor's 30 x 100 queries in under 3.5 minutes (${predictor_s} s)"; passed=$((passed + 1))
  else
    echo "FAIL predictor's 30 x 100 queries in under 3.5 minutes (${predictor_s} s)"; failed=$((failed + 1))
  fi
else
  echo "(the goals are for 30 runs of 100 queries; none checked)"
fi
echo "$passed passed, $failed failed"
