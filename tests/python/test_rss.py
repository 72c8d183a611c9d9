"""No leaks: 10 million records read in a loop (batches split into per-type arrays, some
iterated, latest-state reads between) leave the reader's RSS flat. mdfeed-synth publishes
trades, bbo and tickers flat out; the reader counts delivered and lost records exactly as the
subscription's totals say."""
import os
import subprocess
import sys
import time

import harness
import mdfeed
from harness import check

TOTAL = 10_000_000


def rss_kb():
    """Private resident memory (RssAnon): VmRSS also counts the ring's shared pages, which a
    reader touches for the first time as it goes round (up to the ring's size, not a leak)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])


def main():
    inst = harness.INSTANCE
    p = subprocess.Popen([os.path.join(harness.BIN, "mdfeed-synth"), "-i", inst, "-t",
                          "trade,bbo,ticker", "-s", "8", "--latest", "--unlink"],
                         stdout=subprocess.DEVNULL)
    try:
        md = mdfeed.open(inst, timeout=10)
        sub = md.subscribe("ticks", start="oldest", batch=8192)
        n = lost = rounds = 0
        base = None
        deadline = time.monotonic() + 80
        while n < TOTAL and time.monotonic() < deadline:
            if not sub.wait(5):
                harness.fail("synth stopped publishing")
            b = sub.read()
            n += len(b)
            lost += b.lost
            rounds += 1
            if rounds % 50 == 0:
                for rec in b:  # the per-record path too
                    pass
                md.latest_trade("synth:SYNTH0")
                mdfeed.to_float(b.trades["price"])
            if base is None and n >= 1_000_000:
                base = rss_kb()
        check(n >= TOTAL, "read only %d records in the time allowed" % n)
        check(sub.delivered == n and sub.lost == lost, "totals: %d/%d vs %d/%d"
              % (sub.delivered, sub.lost, n, lost))
        grown = rss_kb() - base
        check(grown < 8 * 1024, "RSS grew %d kB over %d records" % (grown, n - 1_000_000))
        print("read %d records (lost %d to laps) in %d batches; RSS %d kB, grew %d kB after the "
              "first million" % (n, lost, rounds, rss_kb(), grown))
        md.close()
    finally:
        p.terminate()
        p.wait()
        for name in os.listdir("/dev/shm"):
            if name.startswith("mdfeed.%s." % inst):
                os.unlink(os.path.join("/dev/shm", name))


if __name__ == "__main__":
    main()
    sys.exit(0)
