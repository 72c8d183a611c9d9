"""The Python examples against the fake venue: the EMA/RSI signal logger prints, for every
closed candle, the EMAs, RSI and signal that an independent reference (pandas ewm over the
daemon's candle history) computes; the candles-to-PNG script reads the history into pandas and
writes a chart (or says it skipped it without matplotlib)."""
import json
import os
import subprocess
import sys
import tempfile
import time

import harness
import mdfeed
from harness import check

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
EX = os.path.join(ROOT, "tools", "examples")
SYM = "binance-spot:AAAUSDT"


def reference(closes, fast, slow, n):
    import pandas as pd
    s = pd.Series(closes)
    ef = s.ewm(alpha=2 / (fast + 1), adjust=False).mean()
    es = s.ewm(alpha=2 / (slow + 1), adjust=False).mean()
    d = s.diff().iloc[1:]
    g = d.clip(lower=0).ewm(alpha=1 / n, adjust=False).mean()
    l = (-d).clip(lower=0).ewm(alpha=1 / n, adjust=False).mean()
    rsi = [None] + [100.0 if lv == 0 else 100 - 100 / (1 + gv / lv) for gv, lv in zip(g, l)]
    sig = [None]
    for i in range(1, len(s)):
        x = None
        if rsi[i] is not None:
            if ef[i - 1] <= es[i - 1] and ef[i] > es[i] and rsi[i] < 70:
                x = "buy"
            elif ef[i - 1] >= es[i - 1] and ef[i] < es[i] and rsi[i] > 30:
                x = "sell"
        sig.append(x)
    return list(ef), list(es), rsi, sig


def close_enough(a, b):
    if a is None or b is None:
        return a is b
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def main():
    fv, port = harness.fakevenue("--venue", "binance-spot", "--market", "AAAUSDT")
    conf = "venues = (\n%s\n);\n" % harness.venue_conf("binance-spot", port,
                                                       harness.spot_streams("AAAUSDT"))
    d = harness.Daemon(conf)
    try:
        d.start()
        time.sleep(3)  # some closed candles in the history first: the logger seeds from it
        env = dict(os.environ)
        p = subprocess.run([sys.executable, os.path.join(EX, "ema_rsi_signals.py"), "-i",
                            harness.INSTANCE, "-s", SYM, "-I", "1s", "--fast", "2", "--slow",
                            "4", "--rsi", "3", "-n", "6", "--timeout", "20"],
                           capture_output=True, text=True, env=env, timeout=60)
        check(p.returncode == 0, "signal logger: %s" % p.stderr[-2000:])
        lines = [json.loads(l) for l in p.stdout.splitlines()]
        check(len(lines) >= 6, "signal logger printed %d lines" % len(lines))
        with mdfeed.open(harness.INSTANCE) as md:
            hist = md.candles(SYM, "1s")
        closed = [c for c in hist if int(c["h"]["flags"]) & mdfeed.dtypes.CANDLE_F_CLOSED]
        by_time = {int(c["open_time_ns"]): c for c in closed}
        times = [l["open_time"] for l in lines]
        check(times == sorted(times) and len(set(times)) == len(times), "candles out of order")
        check(all(t in by_time for t in times), "a logged candle is not in the history")
        first = sorted(by_time).index(times[0])
        series = [c for c in closed if int(c["open_time_ns"]) >= times[0]]
        series = [c for c in series if int(c["open_time_ns"]) <= times[-1]]
        check(len(series) == len(lines), "the logger skipped candles: %d of %d"
              % (len(lines), len(series)))
        closes = [mdfeed.to_float(c["close"]) for c in series]
        ef, es, rsi, sig = reference(closes, 2, 4, 3)
        for i, l in enumerate(lines):
            check(close_enough(l["close"], closes[i]) and close_enough(l["ema_fast"], ef[i]) and
                  close_enough(l["ema_slow"], es[i]) and close_enough(l["rsi"], rsi[i]) and
                  l["signal"] == sig[i], "line %d: %s, reference ema %s/%s rsi %s signal %s"
                  % (i, l, ef[i], es[i], rsi[i], sig[i]))
        print("signal logger: %d candles (%d signals) equal the reference; history from %d"
              % (len(lines), sum(1 for s in sig if s), first))
        with tempfile.TemporaryDirectory() as tmp:
            png = os.path.join(tmp, "c.png")
            p = subprocess.run([sys.executable, os.path.join(EX, "candles_png.py"), "-i",
                                harness.INSTANCE, "-s", SYM, "-I", "1s", "-o", png],
                               capture_output=True, text=True, timeout=60)
            check(p.returncode == 0, "candles_png: %s" % p.stderr[-2000:])
            check(" candles of %s 1s" % SYM in p.stdout, p.stdout)
            if "chart skipped" not in p.stdout:
                with open(png, "rb") as f:
                    check(f.read(8) == b"\x89PNG\r\n\x1a\n", "not a PNG")
            print("candles_png: " + p.stdout.strip().splitlines()[-1])
    finally:
        d.cleanup()
        fv.stop()


if __name__ == "__main__":
    main()
    sys.exit(0)
