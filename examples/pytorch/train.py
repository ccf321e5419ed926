#!/usr/bin/env python3
"""Trains one architecture cellar proposes, as the command evaluator runs it.

cellar runs this once per trial with CELLAR_TRIAL_DIR holding trial.json (the trial's id,
seed, arch, epochs) and model.py (the network as a PyTorch module, CellarNet), and reads
what it prints: {"epoch": e, "metrics": {...}} after each epoch, {"metrics": {...}} at
the end (docs/command.md). It trains with SGD (momentum 0.9, weight decay 5e-4) and a
cosine learning rate on MNIST's IDX files (`cellar data export mnist DIR`) or CIFAR-10's
binary batches, on CUDA when there is one.

    evaluator: {name: command, run: [python3, examples/pytorch/train.py, --data, mnist-idx],
                epochs: 3, metrics: [val_accuracy, test_accuracy]}
"""

import argparse
import gzip
import importlib.util
import json
import math
import os
import struct
import sys
import time

import torch
import torch.nn.functional as F


def idx(path):
    """An IDX file (gzipped or not) as a uint8 tensor."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = struct.unpack(">" + "I" * dims, raw[4 : 4 + 4 * dims])
    return torch.frombuffer(bytearray(raw[4 + 4 * dims :]), dtype=torch.uint8).reshape(shape)


def find(folder, base):
    for name in (base, base + ".gz"):
        if os.path.exists(os.path.join(folder, name)):
            return os.path.join(folder, name)
    sys.exit(f"{folder}: no {base}[.gz] (write them with: cellar data export mnist {folder})")


def load_mnist(folder):
    xs = idx(find(folder, "train-images-idx3-ubyte")).float().div(255).unsqueeze(1)
    ys = idx(find(folder, "train-labels-idx1-ubyte")).long()
    tx = idx(find(folder, "t10k-images-idx3-ubyte")).float().div(255).unsqueeze(1)
    ty = idx(find(folder, "t10k-labels-idx1-ubyte")).long()
    return xs, ys, tx, ty


def load_cifar10(folder):
    def batch(name):
        raw = open(os.path.join(folder, name), "rb").read()
        rec = torch.frombuffer(bytearray(raw), dtype=torch.uint8).reshape(-1, 3073)
        return rec[:, 1:].reshape(-1, 3, 32, 32).float().div(255), rec[:, 0].long()

    parts = [batch(f"data_batch_{i}.bin") for i in range(1, 6)]
    tx, ty = batch("test_batch.bin")
    return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts]), tx, ty


def accuracy(net, x, y, device, batch=500):
    net.eval()
    right = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            right += (net(x[i : i + batch].to(device)).argmax(1).cpu() == y[i : i + batch]).sum().item()
    net.train()
    return 100.0 * right / len(x)


def report(**kw):
    print(json.dumps(kw), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="the MNIST IDX folder, or CIFAR-10's with --dataset cifar10")
    ap.add_argument("--dataset", default="mnist", choices=["mnist", "cifar10"])
    ap.add_argument("--train", type=int, default=5000, help="training examples (the first of the training set)")
    ap.add_argument("--val", type=int, default=1000, help="validation examples (the last of the training set)")
    ap.add_argument("--test", type=int, default=0, help="test examples (0: no test accuracy)")
    ap.add_argument("--epochs", type=int, default=int(os.environ.get("CELLAR_EPOCHS", "1")))
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--trial-dir", default=os.environ.get("CELLAR_TRIAL_DIR", "."))
    args = ap.parse_args()

    trial = json.load(open(os.path.join(args.trial_dir, "trial.json")))
    spec = importlib.util.spec_from_file_location("model", os.path.join(args.trial_dir, trial["model"]))
    model = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(model)

    # One seed for everything random, the trial's: the same trial trains the same way.
    torch.manual_seed(trial["seed"] % 2**63)
    torch.use_deterministic_algorithms(True)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    xs, ys, tx, ty = (load_mnist if args.dataset == "mnist" else load_cifar10)(args.data)
    mean, std = xs.mean(dim=(0, 2, 3), keepdim=True), xs.std(dim=(0, 2, 3), keepdim=True)
    xs, tx = (xs - mean) / std, (tx - mean) / std
    vx, vy = xs[-args.val :], ys[-args.val :]
    xs, ys = xs[: args.train], ys[: args.train]

    net = model.CellarNet().to(device)
    opt = torch.optim.SGD(net.parameters(), lr=args.lr, momentum=0.9, weight_decay=5e-4)
    steps = args.epochs * (len(xs) // args.batch)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / steps)))
    start = time.time()
    for epoch in range(1, args.epochs + 1):
        perm = torch.randperm(len(xs))
        total, n = 0.0, 0
        for i in range(0, len(xs) - args.batch + 1, args.batch):
            idx_ = perm[i : i + args.batch]
            loss = F.cross_entropy(net(xs[idx_].to(device)), ys[idx_].to(device))
            if not math.isfinite(loss.item()):
                sys.exit(f"epoch {epoch}: the loss is {loss.item()}")
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total, n = total + loss.item(), n + 1
        val = accuracy(net, vx, vy, device)
        report(epoch=epoch, metrics={"val_accuracy": val, "train_loss": total / n})
    final = {"val_accuracy": val, "train_loss": total / n, "train_seconds": time.time() - start}
    if args.test:
        final["test_accuracy"] = accuracy(net, tx[: args.test], ty[: args.test], device)
    report(metrics=final)


if __name__ == "__main__":
    main()
