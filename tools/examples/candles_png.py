#!/usr/bin/python3
"""Notebook-style: the last 500 candles of a symbol into pandas, a few statistics, and a PNG
chart of close and volume (matplotlib from Debian, python3-matplotlib, if installed; without it
the chart is skipped with a note and the rest still runs).

    candles_png.py -i default -s binance-spot:BTCUSDT -I 1m -o btc.png
"""
import argparse
import sys

import mdfeed


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-i", "--instance", default="default")
    ap.add_argument("-s", "--symbol", required=True, help="venue:SYMBOL")
    ap.add_argument("-I", "--interval", default="1m")
    ap.add_argument("-k", "--last", type=int, default=500)
    ap.add_argument("-o", "--output", default="candles.png")
    a = ap.parse_args()

    with mdfeed.open(a.instance, timeout=10) as md:
        df = md.candles_df(a.symbol, a.interval, last=a.last)
    print("%d candles of %s %s, %s .. %s" % (len(df), a.symbol, a.interval,
                                             df.index[0] if len(df) else "-",
                                             df.index[-1] if len(df) else "-"))
    if not len(df):
        return 1
    closed = df[df["closed"]]
    print("last close %r; mean close %.10g; total volume %.10g; %d closed"
          % (float(df["close"].iloc[-1]), df["close"].mean(), df["volume"].sum(), len(closed)))
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed (apt-get install python3-matplotlib): chart skipped")
        return 0
    fig, (ax1, ax2) = plt.subplots(2, 1, sharex=True, figsize=(10, 6),
                                   gridspec_kw={"height_ratios": [3, 1]})
    ax1.plot(df.index, df["close"], lw=1)
    ax1.set_title("%s %s close" % (a.symbol, a.interval))
    ax2.bar(df.index, df["volume"], width=0.8 * (df.index[1] - df.index[0])
            if len(df) > 1 else 0.0005)
    ax2.set_ylabel("volume")
    fig.tight_layout()
    fig.savefig(a.output, dpi=100)
    print("wrote %s" % a.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
