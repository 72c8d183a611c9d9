#!/usr/bin/python3
"""EMA/RSI signal logger on closed candles, the way the Python prototypes ran it.

Seeds from the candle history the daemon keeps, then follows the candles ring and acts on each
candle when it closes. For every closed candle it prints one JSON line:
{"symbol", "open_time", "close", "ema_fast", "ema_slow", "rsi", "signal"} where signal is
"buy" when the fast EMA crosses above the slow one while RSI < 70, "sell" when it crosses below
while RSI > 30, else null.

Definitions (so a reference computation can check it): EMA_0 = close_0,
EMA_t = a * close_t + (1 - a) * EMA_{t-1} with a = 2 / (n + 1). RSI uses Wilder's smoothing
(alpha = 1 / n) of gains and losses of close-to-close changes, seeded with the first change;
RSI = 100 - 100 / (1 + avg_gain / avg_loss), 100 when avg_loss is 0, null before the first
change.

    ema_rsi_signals.py -i default -s binance-spot:BTCUSDT -I 1m
"""
import argparse
import json
import sys

import mdfeed


class Signals:
    def __init__(self, fast, slow, rsi_n):
        self.af, self.as_, self.ar = 2 / (fast + 1), 2 / (slow + 1), 1 / rsi_n
        self.ema_f = self.ema_s = self.prev = None
        self.gain = self.loss = None

    def update(self, close):
        if self.ema_f is None:
            self.ema_f = self.ema_s = close
        else:
            self.ema_f += self.af * (close - self.ema_f)
            self.ema_s += self.as_ * (close - self.ema_s)
        rsi = None
        if self.prev is not None:
            ch = close - self.prev
            g, l = max(ch, 0.0), max(-ch, 0.0)
            if self.gain is None:
                self.gain, self.loss = g, l
            else:
                self.gain += self.ar * (g - self.gain)
                self.loss += self.ar * (l - self.loss)
            rsi = 100.0 if self.loss == 0 else 100 - 100 / (1 + self.gain / self.loss)
        self.prev = close
        return self.ema_f, self.ema_s, rsi


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-i", "--instance", default="default")
    ap.add_argument("-s", "--symbol", required=True, help="venue:SYMBOL")
    ap.add_argument("-I", "--interval", default="1m")
    ap.add_argument("--fast", type=int, default=9)
    ap.add_argument("--slow", type=int, default=21)
    ap.add_argument("--rsi", type=int, default=14)
    ap.add_argument("-n", "--count", type=int, default=0, help="stop after N live candles")
    ap.add_argument("--timeout", type=float, default=None,
                    help="stop after this many seconds without a record")
    a = ap.parse_args()

    with mdfeed.open(a.instance, timeout=10) as md:
        sym = md.symbol(a.symbol)
        want_iv = mdfeed.interval_id(a.interval)
        sig = Signals(a.fast, a.slow, a.rsi)
        last = None
        sub = md.subscribe("candles", start="now")  # before the history: nothing falls between

        def act(c):
            nonlocal last
            t = int(c["open_time_ns"])
            if last is not None and t <= last:
                return False  # already seen in the history
            last = t
            before = (sig.ema_f, sig.ema_s)
            close = mdfeed.to_float(c["close"])
            f, s, rsi = sig.update(close)
            signal = None
            if before[0] is not None and rsi is not None:
                if before[0] <= before[1] and f > s and rsi < 70:
                    signal = "buy"
                elif before[0] >= before[1] and f < s and rsi > 30:
                    signal = "sell"
            print(json.dumps({"symbol": sym.key, "open_time": t, "close": close,
                              "ema_fast": f, "ema_slow": s, "rsi": rsi, "signal": signal}),
                  flush=True)
            return True

        try:
            history = md.candles(sym.id, a.interval)
        except mdfeed.NotFound:
            history = []
        for c in history:
            if int(c["h"]["flags"]) & mdfeed.dtypes.CANDLE_F_CLOSED:
                act(c)
        live = 0
        for c in sub.records(timeout=a.timeout):
            if int(c["h"]["symbol"]) != sym.id or not int(c["h"]["flags"]) & \
                    mdfeed.dtypes.CANDLE_F_CLOSED:
                continue
            if int(c["interval"]) != want_iv:
                continue
            if act(c):
                live += 1
                if a.count and live >= a.count:
                    break
    return 0


if __name__ == "__main__":
    sys.exit(main())
