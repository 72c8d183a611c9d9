"""numpy dtypes of the records, derived from the C layout (mdfeed._layout), and their names.

Each record type has a structured dtype whose fields, offsets and itemsize are the C struct's:
`h` (the header: type, size, venue, flags, symbol, stream, seq, exch_time_ns, tx_time_ns,
recv_time_ns, venue_seq) then the type's fields; decimals are sub-structures with `m` and `e`.
Books depend on the instance's depth (levels per side): book_dtype(depth).
"""
import functools

import numpy as np

from . import _layout as L

TRADE, BBO, TICKER, LIQUIDATION, CANDLE, BOOK, FUNDING, EVENT = range(1, 9)

#: record type id -> name, as mdf_rec_type_name gives it
TYPE_NAMES = {TRADE: "trade", BBO: "bbo", TICKER: "ticker", LIQUIDATION: "liquidation",
              CANDLE: "candle", BOOK: "book", FUNDING: "funding", EVENT: "event"}

#: record type id -> the Batch attribute that holds records of that type
BATCH_FIELDS = {TRADE: "trades", BBO: "bbo", TICKER: "tickers", LIQUIDATION: "liquidations",
                CANDLE: "candles", BOOK: "books", FUNDING: "funding", EVENT: "events"}

#: ring name -> id (enum mdf_ring_id)
RINGS = {"ticks": 0, "candles": 1, "books": 2, "funding": 3, "events": 4}

def _from_c(struct):
    """The dtype of a ctypes structure, with char arrays as byte strings ('S16') rather than
    arrays of single bytes."""
    return _strings(np.dtype(struct))


def _strings(dt):
    if dt.fields is None:
        if dt.subdtype is not None and dt.subdtype[0] == np.dtype("S1"):
            return np.dtype("S%d" % int(np.prod(dt.subdtype[1])))
        if dt.subdtype is not None:
            return np.dtype((_strings(dt.subdtype[0]), dt.subdtype[1]))
        return dt
    names = list(dt.names)
    return np.dtype({"names": names, "formats": [_strings(dt.fields[n][0]) for n in names],
                     "offsets": [dt.fields[n][1] for n in names], "itemsize": dt.itemsize})


dec = np.dtype(L.Dec)
header = _from_c(L.RecHdr)
trade = _from_c(L.Trade)
bbo = np.dtype(L.Bbo)
ticker = np.dtype(L.Ticker)
liquidation = _from_c(L.Liquidation)
candle = np.dtype(L.Candle)
level = np.dtype(L.Level)
funding = np.dtype(L.Funding)
event = _from_c(L.Event)

_FIXED = {TRADE: trade, BBO: bbo, TICKER: ticker, LIQUIDATION: liquidation, CANDLE: candle,
          FUNDING: funding, EVENT: event}

# Record flag bits (h.flags).
TRADE_F_AGGREGATE, TRADE_F_BEST_MATCH = 1, 2
BBO_F_CROSSED = 1
TICKER_F_MINI, TICKER_F_CROSSED = 1, 2
CANDLE_F_CLOSED, CANDLE_F_BACKFILLED = 1, 2
BOOK_F_PARTIAL = 1

SIDES = {0: "unknown", 1: "buy", 2: "sell"}
BOOK_STATES = {0: "EMPTY", 1: "SYNCING", 2: "LIVE", 3: "RESYNCING", 4: "STALE"}


@functools.lru_cache(maxsize=None)
def book_dtype(depth):
    """dtype of a book record with `depth` levels per side: `levels` holds 2*depth struct
    mdf_level (bids best first, then asks best first); n_bids / n_asks say how many are valid."""
    return _from_c(L.book_struct(depth))


def record_dtype(rtype, depth):
    """dtype of record type `rtype` (books need the instance's depth)."""
    return book_dtype(depth) if rtype == BOOK else _FIXED[rtype]
