"""A Python reader that the daemon laps gets the exact lost count: on a 64-slot ticks ring, a
cursor left behind loses exactly tail - 64 - position records, reads the 64 the ring holds in
order, and the batch, the subscription totals and the h.seq gaps all agree. A topic bus whose
event loop stalls is lapped the same way: bus.lost equals the gaps in what it delivered."""
import asyncio
import os
import signal
import sys
import time

import harness
import mdfeed
from harness import check

CAP = 64


async def lagging_bus(md):
    """A bus (1 batch of 8 in flight) whose first handler call blocks the event loop until
    the ring has moved on by 3 laps; every ticks topic is subscribed, so what it does not
    deliver it lost."""
    bus = mdfeed.topics.Bus(md, batch=8, max_pending=1)
    seqs = []
    probe = md.subscribe("ticks", start="now")

    def on(topic, key, rec):
        seqs.append(int(rec["h"]["seq"]))
        if len(seqs) == 1:
            deadline = time.monotonic() + 30
            while probe.tail < seqs[0] + 3 * CAP and time.monotonic() < deadline:
                time.sleep(0.05)  # the loop stalls
    for t in ("trades", "bbo", "tickers", "liquidations"):
        bus.on(t, None, on)
    runner = asyncio.create_task(bus.run())
    deadline = time.monotonic() + 60
    while (not bus.lost or len(seqs) < 2 * CAP) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    bus.stop()
    await runner
    bus.close()
    probe.close()
    return seqs, bus.lost


def main():
    fv, port = harness.fakevenue("--venue", "binance-spot", "--market", "AAAUSDT,BBBUSDT")
    conf = "shm = { rings = { ticks = %d; }; };\nvenues = (\n%s\n);\n" % (
        CAP, harness.venue_conf("binance-spot", port, harness.spot_streams("AAAUSDT") + ",\n" +
                                harness.spot_streams("BBBUSDT")))
    d = harness.Daemon(conf)
    try:
        d.start()
        with mdfeed.open(harness.INSTANCE, timeout=5) as md:
            sub = md.subscribe("ticks", start="now")
            start = sub.position
            deadline = time.monotonic() + 30
            while sub.tail < start + 3 * CAP and time.monotonic() < deadline:
                time.sleep(0.05)
            os.kill(d.proc.p.pid, signal.SIGSTOP)
            try:
                tail = sub.tail
                check(tail >= start + 3 * CAP, "the daemon published only %d records"
                      % (tail - start))
                want_lost = tail - CAP - start
                b = sub.read(10)
                check(b.lost == want_lost, "lost %d, want %d" % (b.lost, want_lost))
                rest = sub.read(1000)
                check(rest.lost == 0, "second batch lost %d" % rest.lost)
                seqs = list(b.seq) + list(rest.seq)
                check(seqs == list(range(tail - CAP, tail)),
                      "read %s..%s, want %d..%d" % (seqs[:1], seqs[-1:], tail - CAP, tail - 1))
                check(sub.lost == want_lost and sub.delivered == CAP, "subscription totals")
                # a second cursor from a saved, overwritten sequence number counts the same
                sub2 = md.subscribe("ticks", start=start)
                b2 = sub2.read(1000)
                check(b2.lost == want_lost and len(b2) == CAP, "start=seq: lost %d" % b2.lost)
            finally:
                os.kill(d.proc.p.pid, signal.SIGCONT)
            print("lapped: lost %d of %d exactly" % (want_lost, tail - start))
            seqs, lost = asyncio.run(lagging_bus(md))
            gaps = sum(b - a - 1 for a, b in zip(seqs, seqs[1:]))
            check(seqs == sorted(seqs), "the bus delivered out of order")
            check(lost > 0 and gaps == lost, "bus.lost %d, gaps in what it delivered %d"
                  % (lost, gaps))
            print("lapped bus: lost %d exactly, delivered %d" % (lost, len(seqs)))
    finally:
        d.cleanup()
        fv.stop()


if __name__ == "__main__":
    main()
    sys.exit(0)
