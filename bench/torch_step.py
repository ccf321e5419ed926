#!/usr/bin/env python3
"""Training throughput in PyTorch of a network cellar exported (cellar export --format
pytorch): the same training step bench/nb201_torch.py times (random batches, cross
entropy, SGD with momentum 0.9 and weight decay 5e-4), for the networks of
bench/train_vs_torch.sh --net.

    /usr/bin/python3 bench/torch_step.py NET.py --steps 10 --threads 2 [--batch 64]

Needs Debian's python3-torch (apt-get install python3-torch), run as /usr/bin/python3.
"""
import argparse
import importlib.util
import sys
import time

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    sys.exit("torch_step.py needs PyTorch: apt-get install python3-torch, then run it with /usr/bin/python3")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("module", help="a network exported by cellar export --format pytorch")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=64)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    spec = importlib.util.spec_from_file_location("cellar_net", args.module)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    model = mod.CellarNet()
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    x = torch.randn(args.batch, *mod.INPUT_SHAPE)
    y = torch.randint(0, 10, (args.batch,))

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()

    step()  # warm-up
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    rate = args.steps * args.batch / (time.perf_counter() - start)
    print(f"pytorch {torch.__version__} threads {args.threads}: {rate:.1f} samples/s")


if __name__ == "__main__":
    main()
