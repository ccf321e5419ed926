#!/usr/bin/env bash
# Training throughput of the reference network (the NB201 cell below in the full
# benchmark skeleton, 1x28x28 inputs, batch 64) in cellar and in PyTorch on CPU with
# the same number of threads, and their ratio.
#   bash bench/train_vs_torch.sh [steps] [netlib]
# On x86 CPUs with AVX-512 or AVX2+FMA, cellar's convolutions run on its Go-assembly
# kernels; elsewhere on im2col with the pure-Go BLAS, or with "netlib" OpenBLAS
# (apt-get install libopenblas-dev). PyTorch: Debian's python3-torch (apt-get install python3-torch),
# run by /usr/bin/python3.
set -euo pipefail
cd "$(dirname "$0")/.."
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
cellar=$(GOMAXPROCS=$threads go test "${build[@]}" -run '^$' -bench 'TrainStep' -benchtime "${steps}x" ./nn | tee /dev/stderr | awk '/BenchmarkTrainStep/ {for (i=1;i<=NF;i++) if ($(i+1)=="samples/s") print $i}')
torch=$(/usr/bin/python3 bench/nb201_torch.py --steps "$steps" --threads "$threads" | tee /dev/stderr | awk '{print $(NF-1)}')
awk -v c="$cellar" -v t="$torch" -v n="$threads" 'BEGIN { printf "cellar %.1f samples/s, pytorch %.1f samples/s (%d threads): cellar/pytorch = %.2fx\n", c, t, n, c/t }'
