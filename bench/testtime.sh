#!/usr/bin/env bash
# How long the test loops take: `go test -short ./...` (the quick loop) and, unless
# --short-only is given, `go test ./...` (the full suite CI runs), each with -count=1
# so no result comes from the test cache. Prints each command's wall time, its slowest
# packages and its ten slowest tests. Run it from a fresh clone with a warm build cache
# (a first `go build ./... && go vet ./...` warms it) to compare with the figures in
# the notes; the build of the test binaries is part of the wall time, as for a user.
#   bash bench/testtime.sh [--short-only]
set -uo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
go build -o "$out/testtime" ./bench/testtime || exit 2
status=0
run() {
  local name=$1; shift
  local start=$SECONDS
  go test -count=1 -json "$@" ./... > "$out/$name.json" 2> "$out/$name.err"
  local rc=$?
  printf '\n== go test %s./... : %d s wall (exit %d)\n' "$(printf '%s ' "$@")" $((SECONDS - start)) "$rc"
  "$out/testtime" < "$out/$name.json" || status=1
  [ $rc -eq 0 ] || { status=1; tail -20 "$out/$name.err"; }
}
run short -short
[ "${1:-}" = "--short-only" ] || run full
exit $status
