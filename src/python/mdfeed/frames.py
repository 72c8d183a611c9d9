"""pandas helpers (need Debian's python3-pandas): candles, books and drained rings as
DataFrames. Prices and quantities are float64 columns by default; exact=True gives
decimal.Decimal objects instead (as the venue sent them, trailing zeros kept)."""
import numpy as np
import pandas as pd

from . import dtypes as D
from .decimals import to_decimals, to_float
from .records import book_sides

_CANDLE_DECS = ("open", "high", "low", "close", "volume", "quote_volume", "taker_buy_base",
                "taker_buy_quote")


def _dec_col(field, exact):
    return to_decimals(field) if exact else to_float(field)


def candles_frame(arr, exact=False):
    """A candle array (Instance.candles) as a DataFrame indexed by open time (UTC): open,
    high, low, close, volume, quote_volume, taker_buy_base, taker_buy_quote, trades, closed,
    close_time."""
    arr = np.asarray(arr)
    cols = {n: _dec_col(arr[n], exact) for n in _CANDLE_DECS}
    cols["trades"] = arr["trades"].astype(np.int64)
    cols["closed"] = (arr["h"]["flags"] & D.CANDLE_F_CLOSED) != 0
    cols["close_time"] = pd.to_datetime(arr["close_time_ns"], unit="ns", utc=True)
    idx = pd.DatetimeIndex(pd.to_datetime(arr["open_time_ns"], unit="ns", utc=True),
                           name="open_time")
    return pd.DataFrame(cols, index=idx)


def candles(inst, sym, interval, last=None, exact=False):
    """The last `last` candles of (sym, interval) as a DataFrame indexed by open time (the
    prototypes' 500-candle buffer): candles(md, "binance-spot:BTCUSDT", "1m", last=500)."""
    return candles_frame(inst.candles(sym, interval, last), exact)


def candles_range(inst, sym, interval, start, end, exact=False):
    """Held candles of (sym, interval) with open time in [start, end) as a DataFrame."""
    return candles_frame(inst.candles_range(sym, interval, start, end), exact)


def book_frame(book, exact=False):
    """A book record as a two-sided DataFrame, one row per level (0 = best): bid_px, bid_qty,
    bid_orders, ask_px, ask_qty, ask_orders (NaN / None where a side has fewer levels)."""
    bids, asks = book_sides(book)
    n = max(len(bids), len(asks))

    def side(lv, name):
        px, qty = _dec_col(lv["px"], exact), _dec_col(lv["qty"], exact)
        pad = n - len(lv)
        fill = None if exact else np.nan
        return {name + "_px": list(px) + [fill] * pad, name + "_qty": list(qty) + [fill] * pad,
                name + "_orders": list(lv["orders"].astype(np.int64)) + [0] * pad}

    cols = {}
    cols.update(side(bids, "bid"))
    cols.update(side(asks, "ask"))
    return pd.DataFrame(cols, index=pd.RangeIndex(n, name="level"))


def book(inst, sym=None, stream=None, exact=False):
    """The latest book of `sym` (or stream id `stream`) as a two-sided DataFrame, or None."""
    b = inst.latest_book(sym, stream=stream)
    return None if b is None else book_frame(b, exact)


def records_frame(arr, exact=False):
    """A record array of one type (e.g. Batch.trades) as a flat DataFrame: header fields
    (seq, symbol, stream, times as UTC datetimes), then the type's fields; decimals as float64
    (exact=True: Decimal); books keep their level arrays out (use book_frame)."""
    arr = np.asarray(arr)
    h = arr["h"]
    cols = {"seq": h["seq"].astype(np.uint64), "symbol": h["symbol"], "stream": h["stream"],
            "venue": h["venue"], "flags": h["flags"],
            "exch_time": pd.to_datetime(h["exch_time_ns"], unit="ns", utc=True),
            "recv_time": pd.to_datetime(h["recv_time_ns"], unit="ns", utc=True)}
    for name in arr.dtype.names:
        if name in ("h", "levels") or name.startswith("_"):
            continue
        f = arr[name]
        if f.dtype == D.dec:
            cols[name] = _dec_col(f, exact)
        elif f.dtype.kind == "S":
            cols[name] = np.char.decode(f, "utf-8", "replace")
        elif name.endswith("_ns"):
            cols[name[:-3]] = pd.to_datetime(f, unit="ns", utc=True)
        else:
            cols[name] = f
    return pd.DataFrame(cols)


def batch_frames(batch, exact=False):
    """Every non-empty type of a Batch (a drained ring) as a DataFrame: {"trades": df, ...}."""
    out = {}
    for t, name in D.BATCH_FIELDS.items():
        a = batch.of_type(t)
        if len(a):
            out[name] = records_frame(a, exact)
    return out


def drain(sub, exact=False, max=1 << 20):
    """Reads everything the subscription has now (up to `max` records) and returns
    (frames, lost): frames as batch_frames gives them."""
    frames, lost = {}, 0
    left = max
    while left > 0:
        b = sub.read(min(left, 65536))
        lost += b.lost
        if not len(b):
            break
        left -= len(b)
        for k, df in batch_frames(b, exact).items():
            frames.setdefault(k, []).append(df)
    return {k: pd.concat(v, ignore_index=True) for k, v in frames.items()}, lost
