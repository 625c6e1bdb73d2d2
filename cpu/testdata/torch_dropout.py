#!/usr/bin/env python3
"""Times PyTorch's CPU dropout for side-by-side figures with the cpu backend.

torch.nn.functional.dropout(x, p, training=True) on n float32 elements
(default 2^26, p = 0.5), median of several runs after a warm-up, printed as
elements/s. Run it with the Python that has torch (Debian's python3-torch:
/usr/bin/python3 cpu/testdata/torch_dropout.py), next to

    go test -run '^$' -bench 'Forward/(cpu|portable)/mask=none/large' ./cpu/

--threads sets torch.set_num_threads (default: torch's own choice).
"""
import argparse
import statistics
import time

import torch
import torch.nn.functional as F


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1 << 26, help="elements (default 2^26)")
    ap.add_argument("--p", type=float, default=0.5, help="drop probability")
    ap.add_argument("--runs", type=int, default=7, help="timed runs (median reported)")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    x = torch.randn(args.n, dtype=torch.float32)
    F.dropout(x, args.p, training=True)  # warm-up: allocation, first-touch
    times = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        y = F.dropout(x, args.p, training=True)
        times.append(time.perf_counter() - t0)
        del y
    med = statistics.median(times)
    print(f"torch {torch.__version__} threads={torch.get_num_threads()} n={args.n} p={args.p} "
          f"runs={args.runs} median={med * 1e3:.1f}ms min={min(times) * 1e3:.1f}ms "
          f"elements/s={args.n / med:.4g}")


if __name__ == "__main__":
    main()
