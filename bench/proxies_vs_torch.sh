#!/usr/bin/env bash
# Zero-cost proxies in cellar and in PyTorch (bench/proxies_torch.py, written from the
# papers) on the same N NAS-Bench-201 archs and the same input batch (built-in MNIST
# padded to 3x32x32, batch 64, saved by cellar bench proxies --save-batch): per proxy,
# each side's Spearman against the built-in CIFAR-10 table, seconds per arch and peak
# resident memory (PyTorch's includes its library), then the ratios.
#   bash bench/proxies_vs_torch.sh [N] [proxies]
# Each side scores one proxy a process, on every core. Needs Debian's python3-torch
# (apt-get install python3-torch), run as /usr/bin/python3, and GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-200}
list=${2:-grad_norm,snip,grasp,fisher,jacob_cov,naswot}
threads=$(nproc)
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  echo "PyTorch is missing: apt-get install python3-torch (it is run as /usr/bin/python3)" >&2
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/cellar" .
printf "%-10s %9s %9s %12s %12s %10s %10s %8s %8s\n" proxy cellar_rho torch_rho cellar_s/arch torch_s/arch cellar_MiB torch_MiB time_x mem_x
for p in ${list//,/ }; do
  out=$(/usr/bin/time -f %M -o "$tmp/rss" "$tmp/cellar" bench proxies --table nb201 --n "$n" --proxies "$p" \
    --save-batch "$tmp/batch.bin" --csv "$tmp/archs.csv" 2>/dev/null)
  c_rho=$(awk -v p="$p" '$1 == p {print $2}' <<<"$out")
  c_s=$(awk -v p="$p" '$1 == p {print $4}' <<<"$out")
  c_mib=$(awk '{printf "%.0f", $1 / 1024}' "$tmp/rss")
  t=$(/usr/bin/python3 bench/proxies_torch.py --proxy "$p" --batch "$tmp/batch.bin" --archs "$tmp/archs.csv" --threads "$threads")
  t_rho=$(awk '{print $4}' <<<"$t")
  t_s=$(awk '{print $5}' <<<"$t")
  t_mib=$(awk '{print $8}' <<<"$t")
  awk -v p="$p" -v cr="$c_rho" -v tr="$t_rho" -v cs="$c_s" -v ts="$t_s" -v cm="$c_mib" -v tm="$t_mib" \
    'BEGIN { printf "%-10s %9.3f %9.3f %12.3f %12.3f %10d %10d %7.2fx %7.2fx\n", p, cr, tr, cs, ts, cm, tm, cs/ts, cm/tm }'
done
echo "time_x and mem_x: cellar's seconds per arch and peak memory over PyTorch's (below 1: cellar is cheaper); $n archs, $threads threads"
