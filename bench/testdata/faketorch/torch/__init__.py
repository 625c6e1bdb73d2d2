# A stand-in for torch, for bench/torch_test.go: just what torch_bench.py
# uses. Device work advances a virtual GPU clock by durations that cycle
# per operation (FAKE_TORCH_CUDA=1 makes CUDA available); CUDA events read
# that clock. Every call is logged to FAKE_TORCH_LOG, so the test can check
# each timed call is bracketed by its own events and waited for.
import os

__version__ = "0.0-fake"
_clock = [0.0]  # virtual GPU time, ms
_count = {}
# Per-operation durations in ms per 1024 elements; any 5 consecutive calls
# have medians 3 (dropout) and 6 (copy).
_cycles = {"dropout": [5.0, 1.0, 3.0, 100.0, 2.0], "copy": [2.0, 4.0, 6.0, 8.0, 10.0]}


def _log(what):
    path = os.environ.get("FAKE_TORCH_LOG")
    if path:
        with open(path, "a") as f:
            f.write(what + "\n")


def _run(op, n):
    i = _count.get(op, 0)
    _count[op] = i + 1
    c = _cycles[op]
    _clock[0] += c[i % len(c)] * n / 1024
    _log(op)


float32 = "float32"


class device:
    def __init__(self, name):
        self.type = name


class Tensor:
    def __init__(self, n):
        self.n = n

    def copy_(self, src):
        _run("copy", self.n)
        return self


def linspace(a, b, n, dtype=None, device=None):
    return Tensor(n)


def empty_like(x):
    return Tensor(x.n)


def manual_seed(s):
    pass


def get_num_threads():
    return 2


class _Event:
    def __init__(self, enable_timing=False):
        self.t = None

    def record(self):
        self.t = _clock[0]
        _log("record")

    def synchronize(self):
        _log("esync")

    def elapsed_time(self, end):
        return end.t - self.t


class cuda:
    Event = _Event

    @staticmethod
    def is_available():
        return os.environ.get("FAKE_TORCH_CUDA") == "1"

    @staticmethod
    def get_device_name(i):
        return "Fake GPU"

    @staticmethod
    def synchronize():
        _log("sync")

    @staticmethod
    def empty_cache():
        pass
