"""mdfeed: read the mdfeed daemon's shared-memory market data from Python.

The daemon (mdfeedd) turns venue WebSocket feeds into fixed-size records with exact decimals,
published into lock-free rings and latest-state tables in POSIX shared memory. This package
maps them read-only through libmdfeed (ctypes; numpy is the only dependency, pandas optional)::

    import mdfeed

    with mdfeed.open("default", timeout=5) as md:          # an Instance
        sym = "binance-spot:BTCUSDT"                       # or "binance-spot:BTC/USDT"
        book = md.latest_book(sym)                         # structured numpy scalar
        bids, asks = mdfeed.book_sides(book)
        c = md.candles(sym, "1m", last=500)                # numpy array of candles
        with md.subscribe("ticks", start="oldest") as sub:
            batch = sub.read(100000)                       # per-type arrays + exact lost
            px = mdfeed.to_float(batch.trades["price"])    # float64 column
            for rec in sub.records(timeout=1.0):           # typed records, blocking
                print(mdfeed.to_dict(rec, md))

Rings: "ticks" (trades, bbo, tickers, liquidations), "candles", "books", "funding", "events".
A Subscription starts "now", at the "oldest" record held or at a sequence number; read(max)
never blocks, wait(timeout) / records(timeout) block (other threads keep running: ctypes drops
the GIL), and `async for rec in sub` / `await sub.aread()` wait in an executor so the event loop
keeps running. `batch.lost` (and `sub.lost`) count records lost to laps exactly.

Prices and quantities are exact decimals: each field is a sub-structure (m, e) with value
m * 10**e; to_float() gives float64 columns, to_decimal() / to_str() exact values.

Daemon liveness: a daemon that dies makes Subscription.wait raise DaemonDead within about one
heartbeat period (100 ms); Instance.status().restarted (or check()) reports a restart, after
which the same subscriptions keep reading (the new daemon continues the sequence numbers).

pandas helpers (need python3-pandas): Instance.candles_df(sym, "1m", last=500) and
candles_range_df(...) indexed by open time, Instance.book_df(sym) (two-sided, one row per
level), and mdfeed.frames.drain(sub) (a drained ring as DataFrames per record type); floats by
default, exact=True for Decimal columns.

A bus-style topic view for asyncio strategies, waiting on the rings' doorbells (help on
mdfeed.topics)::

    bus = mdfeed.topics.Bus(md)
    bus.on("candles", ["binance-spot:BTCUSDT"], on_candle, interval="1m", closed=True)
    bus.on("funding", ["binance-futures:BTCUSDT"], on_funding)   # handler(topic, key, rec)
    await bus.run()

mdfeed.health(instance) is what mdfeed-top --json shows (recent events included); rates per
second come from two snapshots: health(instance, since=previous) or interval=seconds.

Library search: $MDFEED_LIB, then the in-tree build/lib/libmdfeed.so.2, then the system's.
See also mdfeed-python(3) (this package), libmdfeed(3), mdfeed-cat(1), mdfeed-top(1).
"""
from . import dtypes
from ._lib import path as library_path
from .decimals import from_str, to_decimal, to_decimals, to_float, to_str
from .errors import (Contended, DaemonDead, MdfeedError, NotFound, Retired, Timeout)
from .health import health
from .instance import Instance, Status, Stream, Symbol, interval_id, interval_name, open
from .records import book_sides, record_type, to_dict
from .subscription import Batch, Subscription


def __getattr__(name):
    # mdfeed.topics (asyncio) and mdfeed.frames (pandas) load on first use, keeping a
    # reader's start-up short and pandas optional.
    if name in ("topics", "frames"):
        import importlib
        return importlib.import_module("." + name, __name__)
    raise AttributeError("module 'mdfeed' has no attribute %r" % name)

__all__ = ["open", "Instance", "Subscription", "Batch", "Symbol", "Stream", "Status",
           "health", "to_float", "to_decimal", "to_decimals", "to_str", "from_str",
           "book_sides", "to_dict", "record_type", "dtypes", "MdfeedError", "NotFound",
           "DaemonDead", "Retired", "Timeout", "Contended", "library_path", "interval_id",
           "interval_name"]
