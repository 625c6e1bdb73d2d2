# Times torch.nn.functional.dropout for `dropout bench --compare torch`.
# Input: one JSON argument {"sizes": [...], "p": 0.5, "iters": 10, "warmup": 1}.
# Output: one JSON line on stdout: {"version", "device", "cuda", "timer",
# "results": [{"size", "median_s", "copy_s", "wall_s"}]}, or {"error": "..."}
# when torch cannot be used.
#
# Timed as dropout's own backends are: one call at a time, each waited for,
# the median of the calls. On CUDA each call is bracketed by its own pair of
# CUDA events and synchronised before the next (median_s, copy_s: the GPU's
# time between the events); wall_s is the host's time for the same calls,
# launch and wait included, as dropout's device-resident rows count. On the
# CPU, median_s is the host time of each call.
import json
import sys
import time


def median(ts):
    ts = sorted(ts)
    k = len(ts)
    return ts[k // 2] if k % 2 else (ts[k // 2 - 1] + ts[k // 2]) / 2


def main():
    cfg = json.loads(sys.argv[1])
    try:
        import torch
        import torch.nn.functional as F
    except Exception as e:  # ImportError, or a broken install
        print(json.dumps({"error": "%s: %s" % (type(e).__name__, e)}))
        return
    cuda = torch.cuda.is_available()
    dev = torch.device("cuda" if cuda else "cpu")
    name = "cuda: " + torch.cuda.get_device_name(0) if cuda else "cpu (%d threads)" % torch.get_num_threads()

    def timed(f, iters, warmup):
        """Per-call times (event or host, host) of f, each call waited for."""
        for _ in range(warmup):
            f()
        if cuda:
            torch.cuda.synchronize()
        dev_ts, wall_ts = [], []
        for _ in range(iters):
            if cuda:
                start = torch.cuda.Event(enable_timing=True)
                end = torch.cuda.Event(enable_timing=True)
                t = time.perf_counter()
                start.record()
                f()
                end.record()
                end.synchronize()
                wall_ts.append(time.perf_counter() - t)
                dev_ts.append(start.elapsed_time(end) / 1e3)  # ms to s
            else:
                t = time.perf_counter()
                f()
                wall_ts.append(time.perf_counter() - t)
                dev_ts.append(wall_ts[-1])
        return median(dev_ts), median(wall_ts)

    out = []
    torch.manual_seed(0)
    p = cfg["p"]
    # CUDA's first calls load kernels: at least 3 warm-up calls there.
    warmup = max(cfg["warmup"], 3) if cuda else cfg["warmup"]
    for n in cfg["sizes"]:
        x = torch.linspace(-1, 1, n, dtype=torch.float32, device=dev)
        y = torch.empty_like(x)
        fwd, wall = timed(lambda: F.dropout(x, p=p, training=True), cfg["iters"], warmup)
        cp, _ = timed(lambda: y.copy_(x), cfg["iters"], warmup)
        out.append({"size": n, "median_s": fwd, "copy_s": cp, "wall_s": wall})
        del x, y
        if cuda:
            torch.cuda.empty_cache()
    print(json.dumps({"version": torch.__version__, "device": name, "cuda": cuda,
                      "timer": "cuda events" if cuda else "host clock", "results": out}))


main()
