#!/usr/bin/env bash
# The reliability harness at a large size: real `cellar search` processes SIGKILLed at
# random moments N times (a table search, and a training search N/3 times), each kill
# followed by `cellar check` and a resume, then compared trial by trial with an
# uninterrupted run of the same seed; and the damaged-file corpus through every
# command that opens a DB. CI runs the same tests with 10 kills.
#
#   bash bench/reliability.sh 50
set -euo pipefail
cd "$(dirname "$0")/.."
kills=${1:-50}
start=$(date +%s)
out=$(mktemp)
trap 'rm -f "$out"' EXIT
if ! CELLAR_KILLS="$kills" go test -count=1 -timeout 60m -v -run 'TestKillLoop|TestDamagedFilesThroughEveryCommand' ./internal/cli >"$out" 2>&1; then
  grep -E -- '--- FAIL|reliability_test|panic|fatal' "$out" | head -40
  echo "reliability: FAILED (full log: rerun with go test -v -run TestKillLoop ./internal/cli)"
  exit 1
fi
grep -o 'reliability: .*' "$out"
cases=$(grep -c -- '--- PASS: TestDamagedFilesThroughEveryCommand/' "$out" || true)
runs=$(grep -o 'exit codes: .*' "$out" | wc -w)
echo "damaged files: $cases kinds, $((runs - 2 * cases)) command runs: no panic, no fatal error, no write"
echo "took $(( $(date +%s) - start )) s"
