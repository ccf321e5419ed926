#!/usr/bin/env python3
"""The NAS-Bench-201 network in PyTorch, for comparing cellar's training with PyTorch's.

Builds the same network cellar builds from an NB201 arch string (3x3 stem conv + BN,
three stages of N cells at C, 2C, 4C channels joined by residual reduction blocks,
BN-ReLU, global average pool, linear), then either measures training throughput on
random inputs or trains on MNIST read from the IDX files cellar uses.

Needs Debian's python3-torch (apt-get install python3-torch), run as /usr/bin/python3.
"""
import argparse
import gzip
import math
import os
import struct
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    sys.exit("nb201_torch.py needs PyTorch: apt-get install python3-torch, then run it with /usr/bin/python3")


class ReLUConvBN(nn.Sequential):
    def __init__(self, cin, cout, k, stride):
        super().__init__(nn.ReLU(), nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, bias=False), nn.BatchNorm2d(cout))


class Zero(nn.Module):
    def forward(self, x):
        return x.mul(0.0)


def make_op(name, c):
    if name == "none":
        return Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(c, c, 1, 1)
    if name == "nor_conv_3x3":
        return ReLUConvBN(c, c, 3, 1)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, 1, 1, count_include_pad=False)
    raise ValueError("unknown op " + name)


def parse(arch):
    nodes = []
    for group in arch.split("+"):
        edges = []
        for e in group.strip("|").split("|"):
            op, src = e.split("~")
            edges.append((op, int(src)))
        nodes.append(edges)
    return nodes


class Cell(nn.Module):
    def __init__(self, nodes, c):
        super().__init__()
        self.nodes = nodes
        self.ops = nn.ModuleList(make_op(op, c) for edges in nodes for op, _ in edges)

    def forward(self, x):
        states, i = [x], 0
        for edges in self.nodes:
            s = 0
            for _, src in edges:
                s = s + self.ops[i](states[src])
                i += 1
            states.append(s)
        return states[-1]


class Reduction(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.a = ReLUConvBN(cin, cout, 3, 2)
        self.b = ReLUConvBN(cout, cout, 3, 1)
        self.shortcut = nn.Sequential(nn.AvgPool2d(2, 2), nn.Conv2d(cin, cout, 1, bias=False))

    def forward(self, x):
        return self.shortcut(x) + self.b(self.a(x))


class NB201(nn.Module):
    def __init__(self, arch, channels=16, cells=5, in_ch=1, classes=10):
        super().__init__()
        nodes, c = parse(arch), channels
        layers = [nn.Conv2d(in_ch, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c)]
        for stage in range(3):
            if stage > 0:
                layers.append(Reduction(c, 2 * c))
                c *= 2
            layers += [Cell(nodes, c) for _ in range(cells)]
        layers += [nn.BatchNorm2d(c), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, classes)]
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


def read_idx(path):
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    magic, n = struct.unpack(">II", raw[:8])
    if magic == 0x803:
        h, w = struct.unpack(">II", raw[8:16])
        return torch.frombuffer(bytearray(raw[16:]), dtype=torch.uint8).reshape(n, 1, h, w)
    return torch.frombuffer(bytearray(raw[8:]), dtype=torch.uint8)


def mnist(folder):
    x = read_idx(os.path.join(folder, "train-images-idx3-ubyte.gz")).float() / 255
    y = read_idx(os.path.join(folder, "train-labels-idx1-ubyte.gz")).long()
    tx = read_idx(os.path.join(folder, "t10k-images-idx3-ubyte.gz")).float() / 255
    ty = read_idx(os.path.join(folder, "t10k-labels-idx1-ubyte.gz")).long()
    m, s = x.mean().item(), x.std().item()
    return (x - m) / s, y, (tx - m) / s, ty


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arch", default="|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|")
    p.add_argument("--channels", type=int, default=16)
    p.add_argument("--cells", type=int, default=5)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=20, help="throughput: timed training steps")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--mnist", help="train on MNIST from this folder of IDX files instead of timing random batches")
    p.add_argument("--subset", type=int, default=0)
    p.add_argument("--val", type=int, default=5000)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--lr", type=float, default=0.05)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    model = NB201(args.arch, args.channels, args.cells)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=5e-4)
    if not args.mnist:
        x = torch.randn(args.batch, 1, 28, 28)
        y = torch.randint(0, 10, (args.batch,))
        for step in range(args.steps + 3):
            if step == 3:  # warm-up done
                start = time.perf_counter()
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
        rate = args.steps * args.batch / (time.perf_counter() - start)
        print(f"pytorch {torch.__version__} threads {args.threads}: {rate:.1f} samples/s")
        return
    x, y, tx, ty = mnist(args.mnist)
    vx, vy = x[-args.val:], y[-args.val:]
    x, y = x[:-args.val], y[:-args.val]
    if args.subset:
        x, y = x[: args.subset], y[: args.subset]
    steps = len(x) // args.batch
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / (steps * args.epochs))))
    start = time.perf_counter()
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(x))
        for s in range(steps):
            idx = perm[s * args.batch:(s + 1) * args.batch]
            opt.zero_grad()
            F.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
            sched.step()
        model.eval()
        with torch.no_grad():
            acc = lambda a, b: 100 * sum((model(a[i:i + 500]).argmax(1) == b[i:i + 500]).sum().item() for i in range(0, len(a), 500)) / len(a)
            print(f"epoch {epoch + 1}: val {acc(vx, vy):.2f}%  ({time.perf_counter() - start:.1f}s)")
    with torch.no_grad():
        print(f"test {acc(tx, ty):.2f}%")


if __name__ == "__main__":
    main()
