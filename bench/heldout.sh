#!/usr/bin/env bash
# Held-out check of the predictor's defaults (docs/benchmarks.md, "The best in 100
# queries"): three synthetic tables of the NB201 space (a seeded sum of per-edge and
# pairwise op effects plus noise: the zero-cost proxies carry no signal there), 30 runs
# of 100 queries each of regevo and the predictor before (--defaults 0) and after.
#   bash bench/heldout.sh [runs] [budget]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-30}
budget=${2:-100}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
go build -o "$dir/cellar" .
python3 - "$dir" <<'PY'
import itertools, random, sys
ops = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]
for seed in (1, 2, 3):
    r = random.Random(seed)
    w = [[r.gauss(0, 1) for _ in ops] for _ in range(6)]
    v = {(e, f): [[r.gauss(0, 0.5) for _ in ops] for _ in ops] for e in range(6) for f in range(e + 1, 6)}
    with open(f"{sys.argv[1]}/synthetic{seed}.csv", "w") as out:
        out.write("arch,test_accuracy\n")
        for a in itertools.product(range(5), repeat=6):
            s = 90 + sum(w[e][a[e]] for e in range(6)) + sum(v[k][a[k[0]]][a[k[1]]] for k in v) + r.gauss(0, 0.3)
            out.write("|%s~0|+|%s~0|%s~1|+|%s~0|%s~1|%s~2|,%.4f\n" % (*(ops[x] for x in a), s))
PY
for s in 1 2 3; do
  echo "== synthetic $s"
  "$dir/cellar" bench --table "$dir/synthetic$s.csv" --strategies regevo,predictor --runs "$runs" --budget "$budget" --defaults 0 --dedupe function
  "$dir/cellar" bench --table "$dir/synthetic$s.csv" --strategies predictor --runs "$runs" --budget "$budget" --defaults 1
done
