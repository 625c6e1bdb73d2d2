# Times torch.nn.functional.dropout for `dropout bench --compare torch`.
# Input: one JSON argument {"sizes": [...], "p": 0.5, "iters": 10, "warmup": 1}.
# Output: one JSON line on stdout: {"version", "device", "results": [{"size",
# "median_s", "copy_s"}]}, or {"error": "..."} when torch cannot be used.
import json
import sys
import time


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

    def sync():
        if cuda:
            torch.cuda.synchronize()

    def median(f, iters, warmup):
        for _ in range(warmup):
            f()
        sync()
        ts = []
        for _ in range(iters):
            t = time.perf_counter()
            f()
            sync()
            ts.append(time.perf_counter() - t)
        ts.sort()
        k = len(ts)
        return ts[k // 2] if k % 2 else (ts[k // 2 - 1] + ts[k // 2]) / 2

    out = []
    torch.manual_seed(0)
    for n in cfg["sizes"]:
        x = torch.linspace(-1, 1, n, dtype=torch.float32, device=dev)
        y = torch.empty_like(x)
        p = cfg["p"]
        fwd = median(lambda: F.dropout(x, p=p, training=True), cfg["iters"], cfg["warmup"])
        cp = median(lambda: y.copy_(x), cfg["iters"], cfg["warmup"])
        out.append({"size": n, "median_s": fwd, "copy_s": cp})
        del x, y
    print(json.dumps({"version": torch.__version__, "device": name, "cuda": cuda, "results": out}))


main()
