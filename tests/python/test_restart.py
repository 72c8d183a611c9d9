"""Daemon restart and death, seen from Python: a killed daemon makes a blocked wait raise
DaemonDead within the documented time (about one heartbeat period, 100 ms; checked here with a
2 s allowance for a loaded machine) and status() says dead; a daemon started again on the same
instance is reported as a restart (check() returns True) and the same subscription resumes
with the next sequence numbers, nothing lost; an instance that never comes raises Timeout."""
import asyncio
import signal
import sys
import threading
import time

import harness
import mdfeed
from harness import check


def main():
    fv, port = harness.fakevenue("--venue", "binance-spot", "--market", "AAAUSDT")
    conf = "venues = (\n%s\n);\n" % harness.venue_conf("binance-spot", port,
                                                       harness.spot_streams("AAAUSDT"))
    d = harness.Daemon(conf)
    try:
        t0 = time.monotonic()
        try:
            mdfeed.open(harness.INSTANCE, timeout=0.2)
            harness.fail("open of a missing instance succeeded")
        except mdfeed.Timeout as e:
            check(time.monotonic() - t0 >= 0.2 and harness.INSTANCE in str(e), str(e))
        d.start()
        md = mdfeed.open(harness.INSTANCE, timeout=5)
        check(md.check() is False, "fresh instance reported as restarted")
        sub = md.subscribe("ticks", start="oldest")
        check(sub.wait(10), "no ticks")
        sub.read(100000)
        # Death while a thread waits: DaemonDead, promptly, and the other thread keeps running.
        result = {}

        def waiter():
            try:
                while True:
                    sub.wait(30)
                    sub.read(100000)
            except mdfeed.DaemonDead as e:
                result["t"] = time.monotonic()
                result["e"] = e

        th = threading.Thread(target=waiter, daemon=True)
        th.start()
        time.sleep(0.3)
        t_kill = time.monotonic()
        d.stop(signal.SIGKILL)
        ticks = 0
        while th.is_alive() and time.monotonic() - t_kill < 10:
            ticks += 1  # this thread runs meanwhile
            time.sleep(0.01)
        th.join(1)
        check("e" in result, "no DaemonDead within 10 s of the kill")
        took = result["t"] - t_kill
        check(took < 2.0, "DaemonDead came %.2f s after the kill" % took)
        check("dead" in str(result["e"]), "unclear message: %s" % result["e"])
        check(md.status().liveness == "dead", "status after kill")
        try:
            md.check()
            harness.fail("check() of a dead daemon passed")
        except mdfeed.DaemonDead:
            pass
        # asyncio: awaiting records of a dead daemon raises too, promptly.
        t0 = time.monotonic()
        try:
            asyncio.run(sub.aread(timeout=10))
            harness.fail("aread on a dead daemon returned")
        except mdfeed.DaemonDead:
            pass
        check(time.monotonic() - t0 < 2.0, "aread took %.2f s to see the death"
              % (time.monotonic() - t0))
        pos = sub.position
        # Restart: a new epoch, and the subscription resumes where it was.
        d.start()
        deadline = time.monotonic() + 10
        while md.status().liveness != "alive" and time.monotonic() < deadline:
            time.sleep(0.05)
        check(md.check() is True, "restart not reported")
        check(md.check() is False, "restart reported twice")
        b = sub.read_wait(100000, timeout=10)
        check(len(b) and b.seq[0] == pos and b.lost == 0,
              "after restart read seq %s, want %d (lost %d)" % (b.seq[:1], pos, b.lost))
        # A daemon that comes back with another ring geometry replaces the segments: the old
        # subscription says Retired (not a hang), and a reopened instance reads the new ones.
        d.stop(signal.SIGKILL)
        with open(d.conf, "a") as f:
            f.write("shm = { rings = { ticks = 1024; }; };\n")
        d.start()
        try:
            while True:
                sub.wait(10)
                sub.read()
        except mdfeed.Retired as e:
            check("replaced" in str(e), "unclear message: %s" % e)
        except mdfeed.DaemonDead:
            harness.fail("a replaced ring reported as a dead daemon")
        md.close()
        md = mdfeed.open(harness.INSTANCE, timeout=5)
        with md.subscribe("ticks", start="oldest") as s2:
            check(s2.wait(10) and len(s2.read()), "no records in the new segments")
        print("dead noticed in %.3f s (main thread ticked %d times); restart resumed at seq %d"
              % (took, ticks, pos))
        md.close()
    finally:
        d.cleanup()
        fv.stop()


if __name__ == "__main__":
    main()
    sys.exit(0)
