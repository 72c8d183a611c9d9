"""Python reader figures for `make bench` (not asserted anywhere), each beside a baseline
measured in the same run: batch reads into numpy from a full ring (baseline: mdf_read alone,
the C copy under it), per-record iteration (baseline: one mdf_read call per record), the
latest 20-level book into numpy (baseline: the bare C call into a reused buffer) and reader
start-up (import + open + subscribe; baseline: the interpreter starting and exiting).

Data comes from mdfeed-synth in an instance of its own, removed at the end."""
import ctypes as C
import os
import subprocess
import sys
import time

import numpy as np

import mdfeed
from mdfeed._lib import lib

BIN = os.environ.get("MDFEED_TEST_BIN", "build/bin")
INST = "pybench%d" % os.getpid()
BOOKS = INST + "b"
CAP = 65536


def synth(inst, *args):
    subprocess.run([os.path.join(BIN, "mdfeed-synth"), "-i", inst] + list(args), check=True,
                   stdout=subprocess.DEVNULL)


def best(fn, rounds=5):
    return min(fn() for _ in range(rounds))


def line(name, value, unit, base, base_name):
    print("  %-44s %12s %-9s (baseline %s: %s)" % (name, value, unit, base_name, base))


def main():
    synth(INST, "-n", str(CAP), "-t", "trade", "-c", str(CAP))
    synth(BOOKS, "-n", "200", "-t", "book", "-d", "20", "--latest", "-c", "1024")
    try:
        run()
    finally:
        for n in os.listdir("/dev/shm"):
            if n.startswith("mdfeed.%s." % INST) or n.startswith("mdfeed.%s." % BOOKS):
                os.unlink(os.path.join("/dev/shm", n))


def run():
    print("Python reader (mdfeed package, %s)" % mdfeed.library_path)
    md = mdfeed.open(INST)

    # Cold: a new subscription reads the full ring once (its fresh mapping and buffer fault
    # in on the way). The buffers cost most of it: numpy asks for transparent huge pages for
    # them, whose first touch may stall on compaction (cold reads vary 0.5-7M rec/s; 3.7M
    # steadily without huge pages); the ring's fresh mapping costs about 10% (25M rec/s into
    # a touched buffer), and populating it at subscribe (MAP_POPULATE, MADV_POPULATE_READ)
    # only moved that cost into mdf_subscribe (0.6 ms per 24 MB ring, 11 ms per 384 MB). Warm: the same subscriptions read the ring refilled by another synth
    # run, as a reader that has been running for a while does.
    subs = {k: md.subscribe("ticks", "oldest", batch=CAP) for k in ("copy", "view", "raw")}
    cold = {}
    warm = {"copy": [], "view": [], "raw": []}

    def timed(k):
        t = time.perf_counter()
        if k == "raw":
            n = len(subs[k].read_raw(CAP)[0])
        else:
            n = len(subs[k].read(CAP, copy=(k == "copy")).trades)
        dt = time.perf_counter() - t
        assert n == CAP, (k, n)
        return dt

    for k in subs:
        cold[k] = timed(k)
    for _ in range(5):
        synth(INST, "-n", str(CAP), "-t", "trade", "-c", str(CAP))
        for k in subs:
            warm[k].append(timed(k))
    for k in subs:
        subs[k].close()
    rate = lambda t: "%.2fM" % (CAP / t / 1e6)
    line("batch read into numpy, warm (64 Ki trades)", rate(min(warm["copy"])), "rec/s",
         rate(min(warm["raw"])) + " rec/s", "mdf_read alone")
    line("batch read, warm, copy=False (views)", rate(min(warm["view"])), "rec/s",
         rate(min(warm["raw"])) + " rec/s", "mdf_read alone")
    line("batch read into numpy, cold subscription", rate(cold["copy"]), "rec/s",
         rate(cold["raw"]) + " rec/s", "mdf_read alone, cold")

    s = md.subscribe("ticks", "oldest", batch=CAP)
    b = s.read(CAP)
    s.close()

    def iterate():
        t = time.perf_counter()
        n = 0
        for rec in b:
            n += 1
        return time.perf_counter() - t

    def one_by_one():
        s = md.subscribe("ticks", "oldest")
        buf = np.empty(s.stride, np.uint8)
        lost = C.c_uint64()
        h, p, stride, read = s._h, buf.ctypes.data, s.stride, lib.mdf_read
        t = time.perf_counter()
        for _ in range(CAP):
            read(h, p, stride, 1, C.byref(lost))
        dt = time.perf_counter() - t
        s.close()
        return dt

    t_it, t_one = best(iterate, 3), best(one_by_one, 3)
    line("per-record iteration (for rec in batch)", "%.2fM" % (CAP / t_it / 1e6), "rec/s",
         "%.2fM rec/s" % (CAP / t_one / 1e6), "one mdf_read per record")

    gen_sub = md.subscribe("ticks", "oldest")

    def records_gen():
        s = gen_sub
        s.read_raw(CAP)  # drained, then refilled: a warm mapping
        synth(INST, "-n", str(CAP), "-t", "trade", "-c", str(CAP))
        t = time.perf_counter()
        n = sum(1 for _ in s.records(timeout=0))
        dt = time.perf_counter() - t
        assert n == CAP
        return dt

    t_gen = best(records_gen, 3)
    gen_sub.close()
    line("per-record iteration (sub.records())", "%.2fM" % (CAP / t_gen / 1e6), "rec/s",
         "%.2fM rec/s" % (CAP / t_it / 1e6), "iterating a batch")
    md.close()

    mb = mdfeed.open(BOOKS)
    out = np.zeros(1, mdfeed.dtypes.book_dtype(mb.book_depth))
    N = 20000

    def latest_book():
        t = time.perf_counter()
        for _ in range(N):
            mb.latest_book(0, out=out)
        return (time.perf_counter() - t) / N

    def latest_raw():
        h, p, size, fn = mb._h, out.ctypes.data, mb._book_size, lib.mdf_latest_book
        t = time.perf_counter()
        for _ in range(N):
            fn(h, 0, p, size)
        return (time.perf_counter() - t) / N

    bk = mb.latest_book(0)
    assert bk is not None and int(bk["depth"]) == 20
    line("latest 20-level book into numpy", "%.2f" % (best(latest_book) * 1e6), "us/call",
         "%.2f us" % (best(latest_raw) * 1e6), "bare mdf_latest_book")
    mb.close()

    code = "import mdfeed; md = mdfeed.open(%r); s = md.subscribe('ticks')" % INST

    def startup(c):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", c], check=True)
        return time.perf_counter() - t

    line("reader start-up (import + open + subscribe)", "%.1f" % (best(lambda: startup(code)) *
                                                                 1e3), "ms",
         "%.1f ms" % (best(lambda: startup("pass")) * 1e3), "python3 -c pass")


if __name__ == "__main__":
    main()
