"""asyncio: a task awaiting records (async for over a subscription) never blocks the event
loop: a timer task keeps ticking every 10 ms while the reader waits through quiet spells, and
the reader gets the records in order. The mapping is read-only from Python too: every data
segment is mapped without write permission, and a write into a ring's mapping kills the
writer (SIGSEGV) rather than changing the feed."""
import asyncio
import os
import signal
import subprocess
import sys
import time

import harness
import mdfeed
from harness import check


async def scenario(md):
    ticks = []
    stop = asyncio.Event()

    async def timer():
        while not stop.is_set():
            ticks.append(time.monotonic())
            await asyncio.sleep(0.01)

    async def reader():
        got = []
        sub = md.subscribe("ticks", start="now")
        async for rec in sub:
            got.append(int(rec["h"]["seq"]))
            if len(got) >= 30:
                break
        # aread with a timeout on a quiet ring returns an empty batch, loop still running
        sub2 = md.subscribe("events", start="now")
        b = await sub2.aread(timeout=0.5)
        sub.close()
        sub2.close()
        return got, b

    t = asyncio.create_task(timer())
    t0 = time.monotonic()
    got, b = await reader()
    elapsed = time.monotonic() - t0
    stop.set()
    await t
    return got, b, ticks, elapsed


async def bus_scenario(md):
    """The topic view: candles and tickers of one symbol by callback and by async iterator."""
    bus = mdfeed.topics.Bus(md)
    got = {"candles": [], "tickers": [], "health": [], "books": []}
    bus.on("books", ["binance-spot:AAA/USDT"], lambda t, k, r: got["books"].append((k, r)))
    bus.on("candles", ["binance-spot:AAAUSDT"], lambda t, k, r: got["candles"].append((k, r)),
           interval="1s")

    async def on_health(t, k, snap):
        got["health"].append(snap)

    bus.on("health", None, on_health)
    it = bus.stream("tickers", ["binance-spot:AAAUSDT"])
    runner = asyncio.create_task(bus.run())
    async for topic, key, rec in it:
        got["tickers"].append((key, rec))
        if len(got["tickers"]) >= 2 and got["candles"] and got["books"]:
            break
    bus.stop()
    await runner
    bus.close()
    return got


def mapped_segments():
    maps = []
    with open("/proc/self/maps") as f:
        for line in f:
            if "/dev/shm/mdfeed.%s." % harness.INSTANCE in line:
                parts = line.split()
                maps.append((parts[1], parts[-1].rsplit(".", 1)[1], parts[0]))
    return maps


def main():
    fv, port = harness.fakevenue("--venue", "binance-spot", "--market", "AAAUSDT")
    conf = "venues = (\n%s\n);\n" % harness.venue_conf("binance-spot", port,
                                                       harness.spot_streams("AAAUSDT"))
    d = harness.Daemon(conf)
    try:
        d.start()
        with mdfeed.open(harness.INSTANCE, timeout=5) as md:
            got, b, ticks, elapsed = asyncio.run(scenario(md))
            check(got == list(range(got[0], got[0] + len(got))), "records out of order")
            check(len(b) == 0, "events appeared")
            gaps = [b - a for a, b in zip(ticks, ticks[1:])]
            check(len(ticks) >= elapsed / 0.05, "timer ticked %d times in %.2f s"
                  % (len(ticks), elapsed))
            check(max(gaps) < 0.5, "the loop was blocked for %.3f s" % max(gaps))
            print("asyncio: %d records, timer ticked %d times in %.2f s, longest gap %.3f s"
                  % (len(got), len(ticks), elapsed, max(gaps)))
            got = asyncio.run(asyncio.wait_for(bus_scenario(md), 30))
            check(all(k == "binance-spot:AAAUSDT" and int(r["h"]["type"]) == 5 and
                      int(r["interval"]) == 1 for k, r in got["candles"]), "bus candles")
            check(all(k == "binance-spot:AAAUSDT" and int(r["h"]["type"]) == 3
                      for k, r in got["tickers"]), "bus tickers")
            check(all(k == "binance-spot:AAAUSDT" and int(r["h"]["type"]) == 6
                      for k, r in got["books"]), "bus books")
            check(got["health"] and got["health"][0]["daemon"]["state"] in ("RUNNING", "STARTING"),
                  "bus health: %s" % (got["health"][:1],))
            print("bus: %d candles, %d tickers, %d books, %d health snapshots"
                  % (len(got["candles"]), len(got["tickers"]), len(got["books"]),
                     len(got["health"])))
            # read-only mappings
            subs = [md.subscribe(r) for r in mdfeed.dtypes.RINGS]
            maps = mapped_segments()
            names = {n for _, n, _ in maps}
            check({"state", "ticks", "candles", "books", "funding", "events"} <= names,
                  "mapped: %s" % names)
            for perm, name, _ in maps:
                if name != "doorbell":
                    check("w" not in perm, "%s mapped %s" % (name, perm))
            for s in subs:
                s.close()
        # a write into a ring mapping from Python dies with SIGSEGV
        code = ("import ctypes, mdfeed\n"
                "md = mdfeed.open(%r)\n"
                "s = md.subscribe('ticks')\n"
                "addr = [l for l in open('/proc/self/maps') if l.rstrip().endswith('.ticks')]\n"
                "a = int(addr[0].split('-')[0], 16)\n"
                "ctypes.memset(a + 4096, 0x55, 64)\n"
                "print('wrote')\n" % harness.INSTANCE)
        p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        # (under AddressSanitizer, preloaded by the sanitizer suite, the fault is reported
        # by ASan and the process exits 1)
        faulted = p.returncode == -signal.SIGSEGV or (
            p.returncode != 0 and "AddressSanitizer: SEGV" in p.stderr)
        check(faulted and "wrote" not in p.stdout,
              "a write into the ring: exit %s %s" % (p.returncode, p.stderr[-300:]))
        print("read-only: every data mapping has no write permission; a write faults")
    finally:
        d.cleanup()
        fv.stop()


if __name__ == "__main__":
    main()
    sys.exit(0)
