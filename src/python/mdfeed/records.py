"""Records as plain Python: dicts with the keys and exact decimal text of `mdfeed-cat --json`,
and a book's two sides."""

from . import dtypes as D
from ._lib import lib, text
from .decimals import to_str

_DEC = {D.TRADE: ("price", "qty"), D.BBO: ("bid_px", "bid_qty", "ask_px", "ask_qty")}


def _s(b):
    return b.decode("utf-8", "replace") if isinstance(b, bytes) else str(b)


def book_sides(book):
    """(bids, asks) of a book record: the valid levels of each side, best first, as arrays of
    dtypes.level (px, qty exact decimals; orders)."""
    depth = int(book["depth"])
    lv = book["levels"]
    depth = min(depth, len(lv) // 2)
    nb, na = min(int(book["n_bids"]), depth), min(int(book["n_asks"]), depth)
    return lv[:nb], lv[depth: depth + na]


def to_dict(rec, inst=None):
    """The record as a dict with mdfeed-cat --json's keys and values: decimals as exact text,
    enums by name, times in ns. With `inst`, venue, symbol and stream names are filled in."""
    h = rec["h"]
    t = int(h["type"])
    flags = int(h["flags"])
    d = {"seq": int(h["seq"]), "type": D.TYPE_NAMES.get(t, "unknown")}
    sym, stream = int(h["symbol"]), int(h["stream"])
    if inst is not None:
        d["venue"] = text(lib.mdf_venue_name(inst._h, int(h["venue"])))
        d["symbol"] = inst.symbol(sym).native if sym != 0xFFFFFFFF else None
        d["stream"] = inst.stream(stream).key if stream != 0xFFFFFFFF else None
    d["symbol_id"] = sym if sym != 0xFFFFFFFF else None
    d["stream_id"] = stream if stream != 0xFFFFFFFF else None
    d["exch_time"] = int(h["exch_time_ns"])
    d["tx_time"] = int(h["tx_time_ns"])
    d["recv_time"] = int(h["recv_time_ns"])
    d["venue_seq"] = int(h["venue_seq"])
    d["flags"] = flags

    def dec(*names):
        for n in names:
            d[n] = to_str(rec[n])

    if t == D.TRADE:
        dec("price", "qty")
        d["side"] = D.SIDES.get(int(rec["side"]), "unknown")
        for n in ("trade_id", "first_id", "last_id"):
            d[n] = int(rec[n])
        d["aggregate"] = bool(flags & D.TRADE_F_AGGREGATE)
        d["best_match"] = bool(flags & D.TRADE_F_BEST_MATCH)
    elif t == D.BBO:
        dec("bid_px", "bid_qty", "ask_px", "ask_qty")
        d["update_id"] = int(rec["update_id"])
        d["crossed"] = bool(flags & D.BBO_F_CROSSED)
    elif t == D.TICKER:
        d["mini"] = bool(flags & D.TICKER_F_MINI)
        dec("last_px", "last_qty", "open_px", "high_px", "low_px", "volume", "quote_volume",
            "change", "change_pct", "vwap", "bid_px", "bid_qty", "ask_px", "ask_qty")
        d["crossed"] = bool(flags & D.TICKER_F_CROSSED)
        d["open_time"] = int(rec["open_time_ns"])
        d["close_time"] = int(rec["close_time_ns"])
        for n in ("first_id", "last_id", "count"):
            d[n] = int(rec[n])
        dec("prev_close_px")
    elif t == D.LIQUIDATION:
        dec("price", "qty", "avg_price", "filled_qty")
        d["side"] = D.SIDES.get(int(rec["side"]), "unknown")
        d["status"] = _s(rec["status"])
        dec("last_qty")
        d["order_type"] = _s(rec["order_type"])
        d["time_in_force"] = _s(rec["time_in_force"])
    elif t == D.CANDLE:
        d["interval"] = text(lib.mdf_interval_name(int(rec["interval"])))
        d["closed"] = bool(flags & D.CANDLE_F_CLOSED)
        d["backfilled"] = bool(flags & D.CANDLE_F_BACKFILLED)
        d["open_time"] = int(rec["open_time_ns"])
        d["close_time"] = int(rec["close_time_ns"])
        dec("open", "high", "low", "close", "volume", "quote_volume", "taker_buy_base",
            "taker_buy_quote")
        for n in ("trades", "first_id", "last_id"):
            d[n] = int(rec[n])
    elif t == D.BOOK:
        bids, asks = book_sides(rec)
        d["state"] = text(lib.mdf_book_state_name(int(rec["state"])))
        d["partial"] = bool(flags & D.BOOK_F_PARTIAL)
        for n in ("generation", "first_update_id", "last_update_id", "depth", "n_bids",
                  "n_asks"):
            d[n] = int(rec[n])
        d["book_kind"] = text(lib.mdf_book_kind_name(int(rec["kind"])))
        d["precision"] = int(rec["precision"])
        d["levels_asked"] = int(rec["levels_asked"])
        d["bids"] = [[to_str(lv["px"]), to_str(lv["qty"])] for lv in bids]
        d["asks"] = [[to_str(lv["px"]), to_str(lv["qty"])] for lv in asks]
        d["bid_orders"] = [int(lv["orders"]) for lv in bids]
        d["ask_orders"] = [int(lv["orders"]) for lv in asks]
    elif t == D.FUNDING:
        dec("mark_px", "index_px", "est_settle_px", "funding_rate")
        d["next_funding_time"] = int(rec["next_funding_time_ns"])
    elif t == D.EVENT:
        d["level"] = int(rec["level"])
        d["code"] = text(lib.mdf_event_code_name(int(rec["code"])))
        d["connection"] = int(rec["connection"])
        d["text"] = _s(rec["text"])
    return d


def record_type(rec):
    """Type name of a record ("trade", "book", ...)."""
    return D.TYPE_NAMES.get(int(rec["h"]["type"]), "unknown")


