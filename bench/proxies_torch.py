#!/usr/bin/env python3
"""PyTorch references of the data-dependent zero-cost proxies, from their papers, for
comparing cellar's (bench/proxies_vs_torch.sh). Scores NAS-Bench-201 archs in the
benchmark's skeleton (16 channels, 5 cells a stage, 3x32x32) on the batch cellar saved
(cellar bench proxies --save-batch), and prints one proxy's Spearman against the table's
accuracy, seconds per arch and peak memory.

    /usr/bin/python3 bench/proxies_torch.py --proxy snip --batch b.bin --archs p.csv [--threads 2]

p.csv is cellar bench proxies --csv's file (arch, accuracy, ...). The proxies, as
zero-cost-proxies' code (Abdelfattah et al., ICLR 2021) computes them, networks in
training mode (batch statistics), initialised with PyTorch's defaults:
  grad_norm  sum over conv and linear weights of the gradient's L2 norm
  snip       sum of |w * dL/dw| (Lee et al., 2019)
  grasp      -sum of w * (H g), H the loss's Hessian, g its gradient (Wang et al., 2020)
  fisher     sum over conv and linear outputs a of 0.5 * (sum over pixels of a * dL/da)^2,
             per channel, averaged over the batch (Turner et al., 2020)
  jacob_cov  -sum over the eigenvalues v of the batch's input-Jacobian correlation of
             log(v + k) + 1/(v + k), k = 1e-5 (Mellor et al., 2021, v1)
  naswot     log|K|, K the Hamming kernel of the ReLUs' binary codes (Mellor et al., 2021)
Needs Debian's python3-torch, run as /usr/bin/python3.
"""
import argparse
import csv
import os
import resource
import struct
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    sys.exit("proxies_torch.py needs PyTorch: apt-get install python3-torch, then run it with /usr/bin/python3")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nb201_torch import NB201  # noqa: E402


def read_batch(path):
    with open(path, "rb") as f:
        raw = f.read()
    n, c, h, w, k = struct.unpack("<5i", raw[:20])
    x = torch.frombuffer(bytearray(raw[20:20 + 4 * n * c * h * w]), dtype=torch.float32).reshape(n, c, h, w)
    y = torch.frombuffer(bytearray(raw[20 + 4 * n * c * h * w:]), dtype=torch.float32).reshape(n, k)
    return x, y.argmax(1), k


def weights(net):
    return [m.weight for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def grad_norm(net, x, y):
    F.cross_entropy(net(x), y).backward()
    return sum(w.grad.norm().item() for w in weights(net) if w.grad is not None)


def snip(net, x, y):
    F.cross_entropy(net(x), y).backward()
    return sum((w * w.grad).abs().sum().item() for w in weights(net) if w.grad is not None)


def grasp(net, x, y):
    ws = weights(net)
    g = torch.autograd.grad(F.cross_entropy(net(x), y), ws, allow_unused=True)
    g = [gi.detach() if gi is not None else torch.zeros_like(w) for gi, w in zip(g, ws)]
    gz = torch.autograd.grad(F.cross_entropy(net(x), y), ws, create_graph=True, allow_unused=True)
    z = sum((gi * gzi).sum() for gi, gzi in zip(g, gz) if gzi is not None)
    hg = torch.autograd.grad(z, ws, allow_unused=True)
    return sum((-w.detach() * h).sum().item() for w, h in zip(ws, hg) if h is not None)


def fisher(net, x, y):
    acts = []

    def keep(_, __, out):
        out.retain_grad()
        acts.append(out)

    hooks = [m.register_forward_hook(keep) for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    F.cross_entropy(net(x), y).backward()
    for h in hooks:
        h.remove()
    s = 0.0
    for a in acts:
        if a.grad is None:
            continue
        if a.dim() == 4:
            per = (a * a.grad).sum([2, 3])
        else:
            per = a * a.grad
        s += (0.5 * per.pow(2).mean(0)).sum().item()
    return s


def jacob_cov(net, x, y):
    x = x.clone().requires_grad_(True)
    net(x).backward(torch.ones(len(x), net.net[-1].out_features))
    j = x.grad.reshape(len(x), -1).double()
    # Correlations of the rows as cellar computes them: a constant row (an arch whose
    # output does not depend on its input) correlates with nothing, where
    # torch.corrcoef would give NaNs and eigvalsh fail to converge.
    z = j - j.mean(1, keepdim=True)
    norm = z.norm(dim=1, keepdim=True)
    z = torch.where(norm > 0, z / norm, torch.zeros_like(z))
    corr = z @ z.T
    corr.fill_diagonal_(1.0)
    try:
        v = torch.linalg.eigvalsh(corr)
    except RuntimeError:
        return float("nan")
    v = v.clamp(min=0)  # rounding can leave tiny negatives, as in cellar
    k = 1e-5
    return -torch.sum(torch.log(v + k) + 1.0 / (v + k)).item()


def naswot(net, x, y):
    n = len(x)
    K = torch.zeros(n, n, dtype=torch.float64)

    def code(_, inp, __):
        c = (inp[0].reshape(n, -1) > 0).double()
        K.add_(c @ c.t() + (1 - c) @ (1 - c).t())

    hooks = [m.register_forward_hook(code) for m in net.modules() if isinstance(m, nn.ReLU)]
    with torch.no_grad():
        net(x)
    for h in hooks:
        h.remove()
    return torch.linalg.slogdet(K)[1].item()


PROXIES = {"grad_norm": grad_norm, "snip": snip, "grasp": grasp, "fisher": fisher, "jacob_cov": jacob_cov, "naswot": naswot}


def ranks(v):
    order = sorted(range(len(v)), key=lambda i: v[i])
    r = [0.0] * len(v)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and v[order[j + 1]] == v[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2
        i = j + 1
    return r


def spearman(a, b):
    ra, rb = ranks(a), ranks(b)
    n = len(a)
    ma, mb = sum(ra) / n, sum(rb) / n
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb))
    va = sum((x - ma) ** 2 for x in ra) ** 0.5
    vb = sum((y - mb) ** 2 for y in rb) ** 0.5
    return cov / (va * vb) if va and vb else float("nan")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--proxy", required=True, choices=sorted(PROXIES))
    p.add_argument("--batch", required=True)
    p.add_argument("--archs", required=True)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    x, y, classes = read_batch(args.batch)
    with open(args.archs) as f:
        rows = list(csv.reader(f))[1:]
    archs, truth = [r[0] for r in rows], [float(r[1]) for r in rows]
    score = PROXIES[args.proxy]
    scores = []
    start = time.perf_counter()
    for arch in archs:
        torch.manual_seed(args.seed)
        net = NB201(arch, channels=16, cells=5, in_ch=x.shape[1], classes=classes)
        net.train()
        v = score(net, x, y)
        scores.append(v if v == v and abs(v) != float("inf") else -1e300)
    per = (time.perf_counter() - start) / len(archs)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MiB
    print(f"pytorch {args.proxy}: spearman {spearman(scores, truth):.3f}  {per:.3f} s/arch  peak {peak:.0f} MiB")


if __name__ == "__main__":
    main()
