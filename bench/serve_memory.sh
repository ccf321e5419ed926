#!/usr/bin/env bash
# Memory of `cellar serve` on a finished search of N trials (default 100,000): resident
# memory (and its anonymous part: the rest is the DB file's pages bbolt has read, the
# kernel's page cache) with 0, 1, 4 and 20 SSH sessions showing it, and after they
# close. Real processes and real SSH clients on 127.0.0.1.
#
#   bash bench/serve_memory.sh [trials]
set -euo pipefail
cd "$(dirname "$0")/.."
CELLAR_SERVE_TRIALS=${1:-100000} go test -count=1 -timeout 30m -v -run 'TestServeMemoryPerSession' ./internal/cli | grep -E -o 'serve memory.*|--- FAIL.*|FAIL.*|[a-z_]+_test.go:[0-9]+: .*'
