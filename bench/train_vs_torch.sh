#!/usr/bin/env bash
# Training throughput of the reference network (the NB201 cell below in the full
# benchmark skeleton, 1x28x28 inputs, batch 64) in cellar and in PyTorch on CPU with
# the same number of threads, and their ratio.
#   bash bench/train_vs_torch.sh [--net nb201|darts|mbconv] [steps] [netlib]
# --net darts is a DARTS-space network (8 cells, 16 channels: sep_conv 3x3 and 5x5,
# dilated conv, pools, skips), --net mbconv a network-space net of MBConv blocks
# (expansion 6, kernels 3 and 5); both are exported to PyTorch by cellar export, so the
# two sides train the same network (nn/bench_test.go names their archs).
# On x86 CPUs with AVX-512 or AVX2+FMA, cellar's convolutions run on its Go-assembly
# kernels; elsewhere on im2col with the pure-Go BLAS, or with "netlib" OpenBLAS
# (apt-get install libopenblas-dev). PyTorch: Debian's python3-torch (apt-get install python3-torch),
# run by /usr/bin/python3.
set -euo pipefail
cd "$(dirname "$0")/.."
net=nb201
if [ "${1:-}" = --net ]; then
  net=$2
  shift 2
fi
steps=${1:-10}
build=()
if [ "${2:-}" = netlib ]; then
  build=(-tags netlib)
  export CGO_LDFLAGS=-lopenblas
fi
export OPENBLAS_NUM_THREADS=1 # both sides split work across cores themselves
# CELLAR_CPU=avx2 (or generic) holds cellar to a lower path than the CPU has; PyTorch
# is then held to the same instruction set, so the two compare like for like.
case "${CELLAR_CPU:-}" in
  avx2) export ATEN_CPU_CAPABILITY=avx2 DNNL_MAX_CPU_ISA=AVX2 ONEDNN_MAX_CPU_ISA=AVX2 ;; # oneDNN (its convolutions) reads its own
  generic) export ATEN_CPU_CAPABILITY=default DNNL_MAX_CPU_ISA=SSE41 ONEDNN_MAX_CPU_ISA=SSE41 ;;
esac
threads=$(nproc)
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  echo "PyTorch is missing: apt-get install python3-torch (it is run as /usr/bin/python3)" >&2
  exit 1
fi
cellar=$(CELLAR_BENCH_NET=$net GOMAXPROCS=$threads go test "${build[@]}" -run '^$' -bench 'TrainStep' -benchtime "${steps}x" ./nn | tee /dev/stderr | awk '/BenchmarkTrainStep/ {for (i=1;i<=NF;i++) if ($(i+1)=="samples/s") print $i}')
if [ "$net" = nb201 ]; then
  torch=$(/usr/bin/python3 bench/nb201_torch.py --steps "$steps" --threads "$threads" | tee /dev/stderr | awk '{print $(NF-1)}')
else
  # The same network, exported from cellar's IR (the options are nn/bench_test.go's).
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  # The archs are nn/bench_test.go's DARTSArch and MBConvArch (a test there checks).
  case "$net" in
    darts)
      space='{name: cell, input: [1, 28, 28], classes: 10, nodes: 4, layers: 8, channels: 16}'
      arch='normal=|sep_conv_3x3~0|sep_conv_5x5~1|+|sep_conv_3x3~0|sep_conv_3x3~1|+|sep_conv_3x3~1|skip_connect~0|+|skip_connect~0|dilated_conv_3x3~2|;reduce=|max_pool_3x3~0|sep_conv_5x5~1|+|skip_connect~2|max_pool_3x3~1|+|avg_pool_3x3~0|skip_connect~2|+|skip_connect~2|dilated_conv_3x3~1|' ;;
    mbconv)
      space='{name: network, input: [1, 28, 28], classes: 10, stem: 16}'
      arch='|mbconv,d=1,w=16,k=3,e=6|mbconv,d=2,w=32,k=5,e=6|mbconv,d=2,w=64,k=3,e=6|mbconv,d=2,w=128,k=5,e=6|' ;;
    *) echo "--net $net: use nb201, darts or mbconv" >&2; exit 2 ;;
  esac
  printf 'space: %s\nstrategy: random\nevaluator: params\nbudget: {trials: 1}\n' "$space" > "$tmp/net.yaml"
  go run . export -c "$tmp/net.yaml" --arch "$arch" --format pytorch -o "$tmp/net.py" >&2
  torch=$(/usr/bin/python3 bench/torch_step.py "$tmp/net.py" --steps "$steps" --threads "$threads" | tee /dev/stderr | awk '{print $(NF-1)}')
fi
awk -v c="$cellar" -v t="$torch" -v n="$threads" -v net="$net" 'BEGIN { printf "%s: cellar %.1f samples/s, pytorch %.1f samples/s (%d threads): cellar/pytorch = %.2fx\n", net, c, t, n, c/t }'
