"""Everything Python reads from every ring equals mdfeed-cat --json, record for record and field
for field (decimals as exact text), read in batches of several sizes and by iteration; the
latest tables equal each stream's last ring record and the candle history equals the newest
version of each candle in the candles ring. The daemon is stopped (SIGSTOP) while both read,
so they see the same rings."""
import json
import os
import signal
import subprocess
import sys
import time

import harness
import mdfeed
from mdfeed import dtypes as D
from harness import check

RINGS = ["ticks", "candles", "books", "funding", "events"]


def cat_ring(ring):
    out = subprocess.run([os.path.join(harness.BIN, "mdfeed-cat"), "-i", harness.INSTANCE, ring,
                          "--json", "--from-start"], capture_output=True, text=True, timeout=60)
    check(out.returncode == 0, "mdfeed-cat %s: %s" % (ring, out.stderr))
    return [json.loads(l) for l in out.stdout.splitlines() if l.strip()]


def py_ring(md, ring, max_):
    recs, lost = [], 0
    with md.subscribe(ring, start="oldest") as sub:
        while True:
            b = sub.read(max_)
            lost += b.lost
            if not len(b):
                break
            # the per-type arrays hold the same records as the ring-order iteration
            for t in D.TYPE_NAMES:
                a = b.of_type(t)
                check(all(int(x) == t for x in a["h"]["type"]), "per-type array mixed")
            recs.extend(b)
    return recs, lost


def main():
    fv_s, port_s = harness.fakevenue("--venue", "binance-spot", "--market", "AAAUSDT,BBBUSDT")
    fv_f, port_f = harness.fakevenue("--venue", "binance-futures", "--market", "CCCUSDT")
    conf = "venues = (\n%s,\n%s\n);\n" % (
        harness.venue_conf("binance-spot", port_s,
                           harness.spot_streams("AAAUSDT") + ",\n" +
                           harness.spot_streams("BBBUSDT")),
        harness.venue_conf("binance-futures", port_f, harness.futures_streams("CCCUSDT")))
    d = harness.Daemon(conf)
    try:
        d.start()
        md = mdfeed.open(harness.INSTANCE, timeout=5)
        time.sleep(4)
        check_health(md)
        os.kill(d.proc.p.pid, signal.SIGSTOP)
        try:
            check_rings(md)
            check_latest(md)
            check_symbols(md)
            check_api(md)
        finally:
            os.kill(d.proc.p.pid, signal.SIGCONT)
        md.close()
    finally:
        d.cleanup()
        fv_s.stop()
        fv_f.stop()


def top_json(*args):
    top = subprocess.run([os.path.join(harness.BIN, "mdfeed-top"), "-i", harness.INSTANCE,
                          "--json"] + list(args), capture_output=True, text=True, timeout=30)
    check(top.returncode == 0, "mdfeed-top: " + top.stderr)
    return [json.loads(l) for l in top.stdout.splitlines() if l.strip()]


RATES = (("daemon", ("msgs_per_s", "records_per_s")),
         ("connections", ("msgs_per_s", "bytes_per_s")),
         ("streams", ("msgs_per_s",)), ("rings", ("records_per_s",)))


def rows(h, key):
    return [h[key]] if key == "daemon" else h[key]


def check_health(md):
    """mdfeed.health() shows what mdfeed-top --json shows: the same daemon, venues, streams,
    rings and recent events with the same states, and the same rates over two snapshots (the
    daemon is stopped between them, so both measure 0/s); with the daemon running, each rate
    is its counter's change over the time between the snapshots."""
    pid = md.status().pid
    h1 = mdfeed.health(harness.INSTANCE)
    time.sleep(1.0)
    h2 = mdfeed.health(harness.INSTANCE, since=h1)
    dt = (h2["mono_ns"] - h1["mono_ns"]) / 1e9
    check(h2["daemon"]["records_per_s"] == (h2["daemon"]["records"] - h1["daemon"]["records"]) / dt
          and h2["daemon"]["records_per_s"] > 0, "daemon records_per_s %r over %.3f s: %d -> %d"
          % (h2["daemon"]["records_per_s"], dt, h1["daemon"]["records"], h2["daemon"]["records"]))
    counters = {"msgs_per_s": "msgs", "records_per_s": "records"}
    for key, names in RATES:
        for x in rows(h1, key):
            check(all(x[n] is None for n in names), "%s rates without since: %r" % (key, x))
        before = {x.get("slot", x.get("id")): x for x in rows(h1, key)}
        for x in rows(h2, key):
            p = before.get(x.get("slot", x.get("id")))
            for n in names:
                c = {"connections": {"msgs_per_s": "msgs_in", "bytes_per_s": "bytes_in"},
                     "rings": {"records_per_s": "head"}}.get(key, counters).get(n, n)
                check(p is not None and x[n] == (x[c] - p[c]) / dt,
                      "%s %s: %r, counter %s %r -> %r" % (key, n, x[n], c, p and p[c], x[c]))
    check(any(s["msgs_per_s"] > 0 for s in h2["streams"]), "no stream moved")
    os.kill(pid, signal.SIGSTOP)
    try:
        t = top_json("-n", "2", "-d", "0.3")[-1]
        h = mdfeed.health(harness.INSTANCE, interval=0.3)
    finally:
        os.kill(pid, signal.SIGCONT)
    check(h["daemon"]["liveness"] == "alive" and h["daemon"]["pid"] == pid, "health daemon")
    check(len(h["streams"]) == h["daemon"]["n_streams"], "stream count")
    # every key both show, with a value that does not move with the clock, is equal
    moving = {"heartbeat_age_ns", "uptime_ns", "last_msg_age_ns", "last_age_ns", "time_ns"}

    def same_keys(ours, theirs, what):
        for k in set(theirs) - moving:
            check(k in ours or k in ("found", "reason"),
                  "%s %s: mdfeed-top --json shows it, mdfeed.health does not" % (what, k))
            if k in ours:
                check(ours[k] == theirs[k], "%s %s: mdfeed.health %r, mdfeed-top --json %r"
                      % (what, k, ours[k], theirs[k]))

    same_keys(h["daemon"], t["daemon"], "daemon")
    check(h["daemon"]["errors"] == t["daemon"]["errors"], "daemon errors")
    for key, by in (("venues", "name"), ("connections", "id"), ("streams", "name"),
                    ("rings", "name")):
        theirs = {x[by]: x for x in t[key]}
        check(len(h[key]) == len(theirs), "%s: %d vs %d" % (key, len(h[key]), len(theirs)))
        for x in h[key]:
            check(x[by] in theirs, "%s %s not in mdfeed-top --json" % (key, x[by]))
            same_keys(x, theirs[x[by]], "%s %s" % (key, x[by]))
    for key, names in RATES:
        for x in rows(h, key):
            check(all(x[n] == 0.0 for n in names), "%s rates of a stopped daemon: %r"
                  % (key, {n: x[n] for n in names}))
    check(h["events"] and h["events"] == t["events"] and h["events_lost"] == t["events_lost"],
          "events: mdfeed.health %r, mdfeed-top --json %r" % (h["events"][-3:], t["events"][-3:]))
    print("health: %d streams, %d rings, %d events, rates as mdfeed-top --json shows them"
          % (len(h["streams"]), len(h["rings"]), len(h["events"])))


def check_symbols(md):
    """Symbols by venue-native name (any case), normalized name and id are the same entry."""
    syms = md.symbols()
    check(len(syms) == 3, "symbols: %s" % (syms,))
    for s in syms:
        check(md.symbol(s.key) == s and md.symbol(s.id) == s, "symbol " + s.key)
        check(md.symbol_id("%s:%s" % (s.venue, s.native.lower())) == s.id, "case-insensitive")
        if s.normalized:
            check(md.symbol_id("%s:%s" % (s.venue, s.normalized)) == s.id, "normalized")
    try:
        md.symbol("binance-spot:NOPEUSDT")
        harness.fail("an unknown symbol was found")
    except mdfeed.NotFound:
        pass
    print("symbols: %s" % ", ".join("%s (%s)" % (s.key, s.normalized) for s in syms))


def check_rings(md):
    seen_types = set()
    for ring in RINGS:
        want = cat_ring(ring)
        for max_ in (1, 7, 4096):
            recs, lost = py_ring(md, ring, max_)
            check(lost == 0, "%s: lost %d" % (ring, lost))
            check(len(recs) == len(want), "%s: Python read %d records, mdfeed-cat %d"
                  % (ring, len(recs), len(want)))
            for r, w in zip(recs, want):
                got = mdfeed.to_dict(r, md)
                got["ring"] = ring
                if got != w:
                    diff = {k: (got.get(k), w.get(k)) for k in set(got) | set(w)
                            if got.get(k) != w.get(k)}
                    harness.fail("%s seq %s differs from mdfeed-cat: %s" % (ring, w["seq"], diff))
                seen_types.add(got["type"])
        # per-record iteration (records()) gives the same sequence
        with md.subscribe(ring, start="oldest") as sub:
            recs = list(sub.records(timeout=0))
            it = [int(r["h"]["seq"]) for r in recs]
        check(it == [w["seq"] for w in want], "%s: records() differs" % ring)
        for r in recs:  # each record comes typed: its own type's dtype, fields by name
            t = int(r["h"]["type"])
            check(r.dtype == D.record_dtype(t, md.book_depth) and
                  mdfeed.record_type(r) == D.TYPE_NAMES[t], "%s: a %s record has dtype %s"
                  % (ring, D.TYPE_NAMES.get(t), r.dtype))
        print("%s: %d records equal mdfeed-cat" % (ring, len(want)))
    for t in ("trade", "bbo", "ticker", "candle", "book", "funding", "event", "liquidation"):
        check(t in seen_types, "no %s record was read: the test did not cover it" % t)
    md._seen = seen_types


def same(a, b):
    """Equal records, but for h.seq (the latest tables hold the record as the daemon built it,
    before the ring numbered it)."""
    if a is None or b is None:
        return False
    a, b = a.copy(), b.copy()
    a["h"]["seq"] = b["h"]["seq"] = 0
    return a.tobytes() == b.tobytes()


def check_latest(md):
    ticks, _ = py_ring(md, "ticks", 4096)
    books, _ = py_ring(md, "books", 4096)
    funding, _ = py_ring(md, "funding", 4096)
    candles, _ = py_ring(md, "candles", 4096)
    last = {}
    for r in ticks + books + funding:
        last[(int(r["h"]["stream"]), int(r["h"]["type"]))] = r
    n = 0
    for (stream, t), r in last.items():
        fn = {D.TRADE: md.latest_trade, D.BBO: md.latest_bbo, D.TICKER: md.latest_ticker,
              D.FUNDING: md.latest_funding, D.BOOK: md.latest_book}.get(t)
        if fn is None:
            continue
        got = fn(stream=stream)
        check(same(got, r), "latest %s of stream %s (%s) differs from its last ring record"
              % (D.TYPE_NAMES[t], stream, md.stream(stream).key))
        n += 1
    # per symbol: the default stream's record
    for s in md.symbols():
        b = md.latest_book(s.key)
        check(b is not None and same(b, last[(int(b["h"]["stream"]), D.BOOK)]), "book of " + s.key)
        bids, asks = mdfeed.book_sides(b)
        check(len(bids) == int(b["n_bids"]) and len(asks) == int(b["n_asks"]), "book sides")
    # candles: the history is the newest version of each (symbol, interval, open time)
    newest = {}
    for r in candles:
        newest[(int(r["h"]["symbol"]), int(r["interval"]), int(r["open_time_ns"]))] = r
    series = sorted({(k[0], k[1]) for k in newest})
    check(series, "no candles")
    for sym, iv in series:
        want = [newest[k] for k in sorted(newest) if k[:2] == (sym, iv)]
        got = md.candles(sym, iv)
        check(len(got) == len(want), "candles of %d/%d: %d, ring %d" % (sym, iv, len(got),
                                                                         len(want)))
        for g, w in zip(got, want):
            check(same(g, w), "candle %d differs" % int(w["open_time_ns"]))
        k = min(3, len(want))
        check(all(same(a, b) for a, b in zip(md.candles(sym, iv, last=k), want[-k:])) and len(md.candles(sym, iv, last=k)) == k,
              "last %d candles" % k)
        t0, t1 = int(want[0]["open_time_ns"]), int(want[-1]["open_time_ns"])
        rng = md.candles_range(sym, iv, t0, t1)
        check(len(rng) == len(want) - 1 and all(same(a, b) for a, b in zip(rng, want)), "candles_range")
        n += 1
    # pandas: the candle frame is the same candles, floats and exact decimals
    sym, iv = series[0]
    arr = md.candles(sym, iv)
    df = md.candles_df(sym, iv)
    ex = md.candles_df(sym, iv, exact=True)
    check(list(df.index.asi8) == [int(x) for x in arr["open_time_ns"]], "frame index")
    for col in ("open", "high", "low", "close", "volume"):
        check(list(df[col]) == list(mdfeed.to_float(arr[col])), "float column " + col)
        check([str(x) for x in ex[col]] == [str(mdfeed.to_decimal(x)) for x in arr[col]] and
              [mdfeed.to_str(mdfeed.from_str(str(x))) for x in ex[col]] ==
              [mdfeed.to_str(x) for x in arr[col]], "exact column " + col)
    s0 = md.symbols()[0]
    bdf = md.book_df(s0.key, exact=True)
    b = md.latest_book(s0.key)
    bids, asks = mdfeed.book_sides(b)
    check([mdfeed.to_str(mdfeed.from_str(str(x))) for x in bdf["bid_px"][: len(bids)]] ==
          [mdfeed.to_str(x) for x in bids["px"]], "book frame bids")
    from mdfeed import frames
    with md.subscribe("ticks", start="oldest") as sub:
        fr, lost = frames.drain(sub)
    check(lost == 0 and len(fr["trades"]) == sum(1 for r in ticks if int(r["h"]["type"]) == 1),
          "drained trades frame")
    print("latest tables and candle history: %d checks equal; pandas frames agree" % n)


def exact(col, field):
    """A Decimal column holds the field's exact values: digits and exponent (trailing zeros
    kept), not merely equal numbers."""
    return [x.as_tuple() for x in col] == [mdfeed.to_decimal(x).as_tuple() for x in field]


def check_api(md):
    """What the issue asks of the API beyond the ring and table equality: waits that time out
    on a quiet ring, candle ranges by datetime and Timestamp, the book as a two-sided frame,
    a drained ring as frames, exact decimal columns. The daemon is stopped: nothing moves."""
    import datetime
    import math
    import pandas as pd
    from mdfeed import frames
    # a blocking wait on a quiet ring returns False after its timeout, read_wait an empty batch
    with md.subscribe("ticks", start="now") as sub:
        t0 = time.monotonic()
        check(sub.wait(0.3) is False, "wait on a quiet ring returned True")
        took = time.monotonic() - t0
        check(0.3 <= took < 10, "wait(0.3) returned after %.3f s" % took)
        b = sub.read_wait(10, timeout=0.1)
        check(len(b) == 0 and b.lost == 0, "read_wait on a quiet ring: %r" % b)
        check(list(sub.records(timeout=0.1)) == [], "records() on a quiet ring")
    # candles: a time range given as ns, datetime and pandas Timestamp; its DataFrame
    s0 = md.symbols()[0]
    arr = md.candles(s0.key, "1s")
    check(len(arr) >= 3, "only %d 1s candles" % len(arr))
    t0, t1 = int(arr[1]["open_time_ns"]), int(arr[-1]["open_time_ns"])
    want = arr[1:-1]
    dt0 = datetime.datetime.fromtimestamp(t0 // 10**9, datetime.timezone.utc).replace(
        microsecond=(t0 % 10**9) // 1000)
    dt1 = datetime.datetime.fromtimestamp(t1 // 10**9, datetime.timezone.utc).replace(
        microsecond=(t1 % 10**9) // 1000)
    for a, b in ((t0, t1), (dt0, dt1), (pd.Timestamp(t0, unit="ns"), pd.Timestamp(t1, unit="ns"))):
        got = md.candles_range(s0.key, "1s", a, b)
        check(got.tobytes() == want.tobytes(), "candles_range(%r, %r): %d candles, want %d"
              % (a, b, len(got), len(want)))
    check(len(md.candles_range(s0.key, "1s", t1, t0)) == 0, "an empty range")
    df = md.candles_range_df(s0.key, "1s", pd.Timestamp(t0, unit="ns"), pd.Timestamp(t1, unit="ns"))
    check(list(df.index.asi8) == [int(x) for x in want["open_time_ns"]] and
          list(df["close"]) == list(mdfeed.to_float(want["close"])) and
          list(df["closed"]) == [bool(int(f) & D.CANDLE_F_CLOSED) for f in want["h"]["flags"]],
          "candles_range_df")
    check(len(md.candles(s0.key, "1s", last=10**6)) == len(arr), "last beyond what is held")
    try:
        md.candles(s0.key, "1w")
        harness.fail("candles of a series nobody subscribed")
    except mdfeed.NotFound:
        pass
    # the book as a two-sided DataFrame, floats and exact
    for s in md.symbols():
        book = md.latest_book(s.key)
        bids, asks = mdfeed.book_sides(book)
        fl, ex = md.book_df(s.key), md.book_df(s.key, exact=True)
        n = max(len(bids), len(asks))
        check(len(fl) == n == len(ex), "book frame rows %d, levels %d/%d" % (len(fl), len(bids),
                                                                             len(asks)))
        for side, lv in (("bid", bids), ("ask", asks)):
            for col in ("px", "qty"):
                k = "%s_%s" % (side, col)
                check(list(fl[k][:len(lv)]) == list(mdfeed.to_float(lv[col])) and
                      all(math.isnan(x) for x in fl[k][len(lv):]), "float " + k)
                check(exact(ex[k][:len(lv)], lv[col]) and
                      all(x is None for x in ex[k][len(lv):]), "exact " + k)
            check(list(fl[side + "_orders"][:len(lv)]) == [int(x) for x in lv["orders"]],
                  side + " orders")
    # a drained ring as DataFrames, one per type, as the batches hold them
    with md.subscribe("ticks", start="oldest") as sub:
        b = sub.read(1 << 20)
    with md.subscribe("ticks", start="oldest") as sub:
        fr, lost = frames.drain(sub, exact=True)
    check(lost == 0 and sorted(fr) == sorted(D.BATCH_FIELDS[t] for t in set(b.types.tolist())),
          "drained types %s" % sorted(fr))
    for name, df in fr.items():
        a = getattr(b, name)
        check(list(df["seq"]) == [int(x) for x in a["h"]["seq"]], name + " frame rows")
        for f in a.dtype.names:
            if a.dtype[f] == D.dec:
                check(exact(df[f], a[f]), "%s.%s exact column" % (name, f))
    print("api: quiet waits time out, candle ranges by ns/datetime/Timestamp, book and "
          "drained-ring frames (%s) agree" % ", ".join(sorted(fr)))


if __name__ == "__main__":
    main()
    sys.exit(0)
