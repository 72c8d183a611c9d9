"""The topic view (mdfeed.topics.Bus) against the daemon and fake venues (spot and futures):
every topic (trades, bbo, tickers, liquidations, candles, books, funding, events, health) by
callback and by async iterator, with symbols in both forms, delivers exactly the ring's records
of its type and symbols, in ring order, none missed; an idle bus waits on the doorbell (the
event loop does not wake while nothing it asked for comes) and still gets the next record; a
daemon killed under a running bus ends run() with DaemonDead instead of a hang."""
import asyncio
import os
import selectors
import signal
import sys
import time

import harness
import mdfeed
from mdfeed import dtypes as D
from harness import check

SPOT, FUT = "binance-spot", "binance-futures"
# topic: (symbols as given, keys they name, record type, on() options)
TOPICS = {
    "trades": (["binance-spot:AAAUSDT", "binance-futures:CCC/USDT"],
               {SPOT + ":AAAUSDT", FUT + ":CCCUSDT"}, D.TRADE, {}),
    "bbo": (["binance-spot:bbbusdt"], {SPOT + ":BBBUSDT"}, D.BBO, {}),
    "tickers": (["binance-spot:BBB/USDT"], {SPOT + ":BBBUSDT"}, D.TICKER, {}),
    "liquidations": (["binance-futures:CCCUSDT"], {FUT + ":CCCUSDT"}, D.LIQUIDATION, {}),
    "candles": (["binance-spot:AAA/USDT"], {SPOT + ":AAAUSDT"}, D.CANDLE,
                {"interval": "1s", "closed": True}),
    "books": (["binance-spot:AAAUSDT"], {SPOT + ":AAAUSDT"}, D.BOOK, {}),
    "funding": (["binance-futures:CCCUSDT"], {FUT + ":CCCUSDT"}, D.FUNDING, {}),
    "events": (None, None, D.EVENT, {}),
}


async def every_topic(md, daemon_pid):
    bus = mdfeed.topics.Bus(md, health_every=0.3)
    cb = {t: [] for t in TOPICS}
    it = {t: [] for t in TOPICS}
    health = []

    def sync_handler(topic, key, rec):
        cb[topic].append((key, rec))

    async def async_handler(topic, key, rec):
        await asyncio.sleep(0)
        cb[topic].append((key, rec))

    for i, (topic, (syms, _, _, opts)) in enumerate(TOPICS.items()):
        bus.on(topic, syms, async_handler if i % 2 else sync_handler, **opts)
    streams = {t: bus.stream(t, TOPICS[t][0], **TOPICS[t][3]) for t in TOPICS}
    bus.on("health", None, lambda t, k, h: health.append(h))
    # where each ring stood when the bus subscribed (at most that: records published between
    # the bus's subscription and this one are left out of the comparison)
    start = {r: md.subscribe(r, "now") for r in D.RINGS}
    start = {r: (s.position, s.close())[0] for r, s in start.items()}

    async def consume(topic):
        async for t, key, rec in streams[topic]:
            check(t == topic, "iterator of %s gave %s" % (topic, t))
            it[topic].append((key, rec))

    consumers = [asyncio.create_task(consume(t)) for t in TOPICS]
    runner = asyncio.create_task(bus.run())
    deadline = time.monotonic() + 40
    hup = 0
    while time.monotonic() < deadline:
        if not cb["events"] and time.monotonic() > hup + 2:
            os.kill(daemon_pid, signal.SIGHUP)  # a config reload: an event
            hup = time.monotonic()
        if all(len(cb[t]) >= 2 and len(it[t]) >= 1 for t in TOPICS if t != "events") and \
                cb["events"] and it["events"] and len(health) >= 3:
            break
        check(not runner.done(), "run() ended: %r" % (runner.done() and runner.exception()))
        await asyncio.sleep(0.1)
    bus.stop()
    await runner
    await asyncio.sleep(0.05)
    for c in consumers:
        c.cancel()
    bus.close()
    missing = [t for t in TOPICS if not cb[t] or not it[t]] + ([] if len(health) >= 3 else
                                                               ["health"])
    check(not missing, "no records for %s (callbacks %s, iterators %s)" % (
        missing, {t: len(v) for t, v in cb.items()}, {t: len(v) for t, v in it.items()}))
    return cb, it, health, start, bus.lost


def check_topics(md, cb, it, health, start, lost):
    check(lost == 0, "bus lost %d" % lost)
    rings = {}
    for r in D.RINGS:
        with md.subscribe(r, start=start[r]) as sub:
            recs = []
            while True:
                b = sub.read()
                if not len(b):
                    break
                recs.extend(b)
            rings[r] = recs
    ring_of = {D.TRADE: "ticks", D.BBO: "ticks", D.TICKER: "ticks", D.LIQUIDATION: "ticks",
               D.CANDLE: "candles", D.BOOK: "books", D.FUNDING: "funding", D.EVENT: "events"}
    for topic, (syms, keys, rtype, opts) in TOPICS.items():
        got = cb[topic]
        for key, rec in got:
            check(int(rec["h"]["type"]) == rtype, "%s delivered a %s" % (topic,
                                                                        mdfeed.record_type(rec)))
            if keys is not None:
                check(key in keys, "%s delivered %s, asked %s" % (topic, key, syms))
        seqs = [int(r["h"]["seq"]) for _, r in got if int(r["h"]["seq"]) >= start[ring_of[rtype]]]
        check([int(r["h"]["seq"]) for _, r in it[topic]] == [int(r["h"]["seq"]) for _, r in
                                                             got[:len(it[topic])]],
              "%s: the iterator and the callback differ" % topic)
        ids = None if keys is None else {md.symbol_id(k) for k in keys}
        want = []
        for r in rings[ring_of[rtype]]:
            if int(r["h"]["type"]) != rtype or (seqs and int(r["h"]["seq"]) > seqs[-1]):
                continue
            if ids is not None and int(r["h"]["symbol"]) not in ids:
                continue
            if rtype == D.CANDLE and (int(r["interval"]) != mdfeed.interval_id("1s") or
                                      not int(r["h"]["flags"]) & D.CANDLE_F_CLOSED):
                continue
            want.append(int(r["h"]["seq"]))
        check(seqs == want, "%s: the bus delivered %s, the ring holds %s" % (topic, seqs[:20],
                                                                            want[:20]))
        for key, rec in got:
            if rtype == D.EVENT and int(rec["h"]["symbol"]) == 0xFFFFFFFF:
                check(key is None, "event key %r" % key)
            elif rtype != D.EVENT:
                check(key == md.symbol(int(rec["h"]["symbol"])).key, "key %s" % key)
        print("%s: %d by callback, %d by iterator, as the ring holds them (%s)"
              % (topic, len(got), len(it[topic]), ", ".join(sorted({str(k) for k, _ in got}))))
    check(any(int(r["code"]) == 12 for _, r in cb["events"]), "no CONFIG_RELOADED event")
    check(all(h["daemon"]["liveness"] == "alive" for h in health), "health liveness")
    check(health[0]["daemon"]["records_per_s"] is None and
          all(h["daemon"]["records_per_s"] is not None for h in health[1:]),
          "health rates: %s" % [h["daemon"]["records_per_s"] for h in health])
    print("health: %d snapshots, records/s %s" % (len(health), [round(h["daemon"][
        "records_per_s"] or 0) for h in health]))


class CountingSelector(selectors.DefaultSelector):
    """The event loop's selector, counting how often the loop wakes."""
    wakes = 0

    def select(self, timeout=None):
        r = super().select(timeout)
        CountingSelector.wakes += 1
        return r


async def idle_bus(md, daemon_pid):
    """A bus on a quiet ring (events), and on a busy ring for a type it does not carry now
    (spot liquidations), leaves the loop asleep, then delivers the next event."""
    bus = mdfeed.topics.Bus(md)
    got = []
    arrived = asyncio.Event()

    def on_event(topic, key, rec):
        got.append(rec)
        arrived.set()

    bus.on("events", None, on_event)
    bus.on("liquidations", ["binance-spot:AAAUSDT"], on_event)
    runner = asyncio.create_task(bus.run())
    await asyncio.sleep(0.2)   # the reader thread is in mdf_wait by now
    w0 = CountingSelector.wakes
    await asyncio.sleep(1.5)
    wakes = CountingSelector.wakes - w0
    t0 = time.monotonic()
    os.kill(daemon_pid, signal.SIGHUP)
    await asyncio.wait_for(arrived.wait(), 10)
    latency = time.monotonic() - t0
    bus.stop()
    await runner
    bus.close()
    return wakes, latency, got


async def dead_daemon(md, daemon):
    bus = mdfeed.topics.Bus(md)
    bus.on("trades", None, lambda *a: None)
    bus.on("events", None, lambda *a: None)
    runner = asyncio.create_task(bus.run())
    await asyncio.sleep(0.5)
    t0 = time.monotonic()
    daemon.stop(signal.SIGKILL)
    try:
        await asyncio.wait_for(runner, 10)
        harness.fail("run() returned after the daemon was killed")
    except mdfeed.DaemonDead:
        pass
    except asyncio.TimeoutError:
        harness.fail("run() still running 10 s after the daemon was killed")
    took = time.monotonic() - t0
    bus.close()
    return took


def main():
    fv_s, port_s = harness.fakevenue("--venue", SPOT, "--market", "AAAUSDT,BBBUSDT")
    fv_f, port_f = harness.fakevenue("--venue", FUT, "--market", "CCCUSDT")
    conf = "venues = (\n%s,\n%s\n);\n" % (
        harness.venue_conf(SPOT, port_s, harness.spot_streams("AAAUSDT") + ",\n" +
                           harness.spot_streams("BBBUSDT")),
        harness.venue_conf(FUT, port_f, harness.futures_streams("CCCUSDT")))
    d = harness.Daemon(conf)
    try:
        d.start()
        pid = d.proc.p.pid
        with mdfeed.open(harness.INSTANCE, timeout=5) as md:
            cb, it, health, start, lost = asyncio.run(every_topic(md, pid))
            check_topics(md, cb, it, health, start, lost)
            loop = asyncio.SelectorEventLoop(CountingSelector())
            try:
                wakes, latency, got = loop.run_until_complete(idle_bus(md, pid))
            finally:
                loop.close()
            check(got and int(got[0]["code"]) == 12, "idle bus: no event")
            check(wakes <= 10, "an idle bus woke the event loop %d times in 1.5 s" % wakes)
            print("idle bus: the loop woke %d times in 1.5 s; an event came %.1f ms after the "
                  "reload signal" % (wakes, latency * 1e3))
            took = asyncio.run(dead_daemon(md, d))
            print("dead daemon: run() raised DaemonDead %.2f s after the kill" % took)
    finally:
        d.cleanup()
        fv_s.stop()
        fv_f.stop()


if __name__ == "__main__":
    main()
    sys.exit(0)
