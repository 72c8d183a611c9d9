"""An open instance: symbols, streams, subscriptions, latest-state tables, candle history and
the daemon's liveness."""
import ctypes as C
import errno as _errno
from collections import namedtuple

import numpy as np

from . import _layout as L
from . import dtypes as D
from ._lib import lib, text
from .errors import ENODATA, DaemonDead, NotFound, Retired, check, error
from .subscription import Subscription

#: Symbol table entry: id, venue (name), native ("BTCUSDT"), normalized ("BTC/USDT" or "")
Symbol = namedtuple("Symbol", "id venue venue_id native normalized")
Symbol.key = property(lambda s: "%s:%s" % (s.venue, s.native))

#: Stream table entry (mdf_stream_entry): a venue subscription of the daemon
Stream = namedtuple("Stream", "id symbol venue_id type book_kind precision interval levels flags "
                              "retired key kind types")

#: Daemon liveness (mdf_status): liveness is "alive", "dead" or "retired"
Status = namedtuple("Status", "liveness pid epoch restarted heartbeat_age hb_interval "
                              "epoch_start_ns")

LIVENESS = {0: "alive", 1: "dead", 2: "retired"}


def _ms(timeout):
    return -1 if timeout is None else int(timeout * 1000)


class Instance:
    """A daemon's instance, mapped read-only: open with mdfeed.open(name, timeout=...).

    Symbols are named "venue:SYMBOL" with the venue-native symbol ("binance-spot:BTCUSDT",
    case-insensitive) or the normalized one ("binance-spot:BTC/USDT"), or given by id. Every
    method that takes a symbol takes either. The instance may be shared by threads for the
    latest-state, candle and symbol calls; each Subscription belongs to one thread or task."""

    def __init__(self, name="default", timeout=0.0):
        h = C.c_void_p()
        check(lib.mdf_open(C.byref(h), (name or "default").encode(), _ms(timeout)))
        self._h = h
        self.name = name or "default"
        #: levels per side of every book record of this instance
        self.book_depth = lib.mdf_book_depth(h)
        #: candles kept per (symbol, interval)
        self.candle_capacity = lib.mdf_candle_capacity(h)
        self._book_dt = D.book_dtype(self.book_depth)
        self._book_size = lib.mdf_rec_type_size(D.BOOK, self.book_depth)
        self._sym_cache = {}
        self._subs = []
        self._restart_unseen = False

    # -- life cycle --
    def close(self):
        """Closes every subscription made from it, then unmaps the instance (idempotent)."""
        for s in list(self._subs):
            s.close()
        self._subs = []
        if self._h:
            lib.mdf_close(self._h)
            self._h = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def _handle(self):
        if not self._h:
            raise ValueError("instance is closed")
        return self._h

    def __repr__(self):
        return "<mdfeed.Instance %r %s>" % (self.name, "open" if self._h else "closed")

    # -- liveness --
    def status(self):
        """The daemon's liveness as the segment headers show it (mdf_status): a Status with
        liveness "alive" / "dead" / "retired", pid, epoch, restarted (the epoch changed since
        the previous call or the open: a daemon restart), heartbeat_age and hb_interval in
        seconds. A killed daemon reads as dead at once."""
        st = L.Status()
        check(lib.mdf_status(self._handle(), C.byref(st)))
        self._restart_unseen |= bool(st.restarted)
        return Status(LIVENESS.get(st.liveness, "?"), st.pid, st.epoch, bool(st.restarted),
                      st.heartbeat_age_ns / 1e9, st.hb_interval_ns / 1e9, st.epoch_start_ns)

    def check(self):
        """Raises DaemonDead or Retired unless the daemon is alive; returns True if it
        restarted (a new epoch) since the open or the previous check() call (status() calls
        in between do not hide it)."""
        st = self.status()
        if st.liveness == "dead":
            raise DaemonDead(-1005, "the daemon of instance %r is dead (pid %d)"
                             % (self.name, st.pid))
        if st.liveness == "retired":
            raise Retired(-1006, "instance %r was replaced; reopen it" % self.name)
        restarted, self._restart_unseen = self._restart_unseen, False
        return restarted

    # -- symbols and streams --
    def venues(self):
        """Venue names, by id."""
        h = self._handle()
        return [text(lib.mdf_venue_name(h, i)) for i in range(lib.mdf_venue_count(h))]

    def symbol_id(self, sym):
        """Symbol id of `sym` ("venue:SYMBOL" or an id); raises NotFound."""
        if isinstance(sym, (int, np.integer)):
            return int(sym)
        if isinstance(sym, Symbol):
            return sym.id
        sid = self._sym_cache.get(sym)
        if sid is None:
            sid = check(lib.mdf_symbol_lookup(self._handle(), sym.encode()))
            self._sym_cache[sym] = sid
        return sid

    def symbol(self, sym):
        """The Symbol entry of `sym` ("venue:SYMBOL" or an id)."""
        e = L.SymbolEntry()
        sid = self.symbol_id(sym)
        check(lib.mdf_symbol_info(self._handle(), sid, C.byref(e)))
        return Symbol(e.id, text(lib.mdf_venue_name(self._h, e.venue)), e.venue,
                      text(e.native), text(e.normalized))

    def symbols(self):
        """Every symbol registered so far."""
        return [self.symbol(i) for i in range(lib.mdf_symbol_count(self._handle()))]

    def stream(self, sid):
        """The Stream entry of stream id `sid`."""
        e = L.StreamEntry()
        check(lib.mdf_stream_info(self._handle(), int(sid), C.byref(e)))
        return Stream(e.id, e.symbol, e.venue, e.type, e.book_kind, e.precision,
                      text(lib.mdf_interval_name(e.interval)) if e.interval else None,
                      e.levels, e.flags, bool(e.retired), text(e.key), text(e.kind), e.types)

    def streams(self):
        """Every stream registered so far."""
        return [self.stream(i) for i in range(lib.mdf_stream_count(self._handle()))]

    def find_stream(self, sym, kind):
        """Stream id of `sym`'s live stream `kind` ("depth20", "ticker", "aggTrade",
        "book:P0", the venue's key ...), as mdf_stream_find; raises NotFound."""
        if not isinstance(sym, str):
            sym = self.symbol(sym).key
        return check(lib.mdf_stream_find(self._handle(), sym.encode(), kind.encode()))

    # -- subscriptions --
    def subscribe(self, ring, start="now", batch=4096):
        """A Subscription to ring `ring` ("ticks", "candles", "books", "funding", "events"):
        from `start` = "now" (the next record published), "oldest" (the oldest the ring holds)
        or a sequence number (a saved Subscription.position). `batch` is read()'s default
        maximum."""
        s = Subscription(self, ring, start, batch)
        self._subs.append(s)
        return s

    # -- latest state --
    def _latest(self, kind, dt, sym, stream):
        out = np.zeros(1, dt)
        h = self._handle()
        if stream is not None:
            rc = getattr(lib, "mdf_latest_%s_stream" % kind)(h, int(stream), out.ctypes.data)
        else:
            rc = getattr(lib, "mdf_latest_%s" % kind)(h, self.symbol_id(sym), out.ctypes.data)
        if rc == ENODATA:
            return None
        check(rc)
        return out[0]

    def latest_bbo(self, sym=None, stream=None):
        """The newest best bid/offer of `sym` (its default stream) or of stream id `stream`: a
        numpy structured scalar of dtypes.bbo, or None if there is none yet."""
        return self._latest("bbo", D.bbo, sym, stream)

    def latest_trade(self, sym=None, stream=None):
        """The newest trade (dtypes.trade) of `sym` or `stream`, or None."""
        return self._latest("trade", D.trade, sym, stream)

    def latest_ticker(self, sym=None, stream=None):
        """The newest 24 h ticker (dtypes.ticker) of `sym` or `stream`, or None."""
        return self._latest("ticker", D.ticker, sym, stream)

    def latest_funding(self, sym=None, stream=None):
        """The newest mark price / funding record (dtypes.funding) of `sym` or `stream`, or
        None."""
        return self._latest("funding", D.funding, sym, stream)

    def latest_book(self, sym=None, stream=None, out=None):
        """The newest book of `sym` (its default book: the full local book if any, else the
        deepest partial one) or of stream id `stream`: a structured scalar of
        dtypes.book_dtype(book_depth) (state, n_bids, n_asks, levels...), or None. Pass `out`
        (a 1-element array of that dtype) to reuse memory; mdfeed.book_sides() splits it."""
        if out is None:
            out = np.zeros(1, self._book_dt)
        h = self._handle()
        if stream is not None:
            rc = lib.mdf_latest_book_stream(h, int(stream), out.ctypes.data, self._book_size)
        else:
            rc = lib.mdf_latest_book(h, self.symbol_id(sym), out.ctypes.data, self._book_size)
        if rc == ENODATA:
            return None
        check(rc)
        return out[0]

    # -- candles --
    def candles(self, sym, interval, last=None):
        """The newest `last` candles (default: all held, up to candle_capacity) of (sym,
        interval), oldest first, as a dtypes.candle array; the newest may be partial (h.flags
        & CANDLE_F_CLOSED clear). Raises NotFound for an unknown symbol or series."""
        k = self.candle_capacity if last is None else int(last)
        out = np.zeros(max(k, 0), D.candle)
        n = lib.mdf_candles_last(self._handle(), self.symbol_id(sym), _interval(interval),
                                 out.ctypes.data, k)
        return out[: self._candle_rc(n, sym, interval)]

    def candles_range(self, sym, interval, start, end):
        """Held candles of (sym, interval) with open time in [start, end) (Unix ns, or
        datetime / pandas Timestamp), oldest first."""
        out = np.zeros(self.candle_capacity, D.candle)
        n = lib.mdf_candles_range(self._handle(), self.symbol_id(sym), _interval(interval),
                                  _ns(start), _ns(end), out.ctypes.data, len(out))
        return out[: self._candle_rc(n, sym, interval)]

    def _candle_rc(self, n, sym, interval):
        if n == ENODATA:
            raise NotFound(-_errno.ENOENT, "no %s candles of %s" % (interval, sym))
        if n < 0:
            raise error(n)
        return n

    # -- pandas (python3-pandas) --
    def candles_df(self, sym, interval, last=None, exact=False):
        """candles() as a pandas DataFrame indexed by open time: floats by default, Decimal
        with exact=True (mdfeed.frames.candles_frame)."""
        from . import frames
        return frames.candles(self, sym, interval, last, exact)

    def candles_range_df(self, sym, interval, start, end, exact=False):
        """candles_range() as a pandas DataFrame indexed by open time."""
        from . import frames
        return frames.candles_range(self, sym, interval, start, end, exact)

    def book_df(self, sym=None, stream=None, exact=False):
        """The latest book as a two-sided pandas DataFrame (one row per level), or None."""
        from . import frames
        return frames.book(self, sym, stream, exact)

    # -- health --
    def health(self):
        """What mdfeed-top --json shows: see mdfeed.health()."""
        from .health import health
        return health(self.name)


def interval_id(name):
    """Candle interval id (enum mdf_interval, a record's `interval` field) of "1s", "1m",
    "1h", "1M" (month) ...; raises ValueError if unknown."""
    return _interval(name)


def interval_name(iv):
    """Name of candle interval id `iv` ("1m", ...)."""
    return text(lib.mdf_interval_name(int(iv)))


def _interval(iv):
    if isinstance(iv, (int, np.integer)):
        return iv
    n = lib.mdf_interval_from_name(iv.encode())
    if n < 0:
        raise ValueError("unknown candle interval %r" % (iv,))
    return n


def _ns(t):
    if isinstance(t, (int, np.integer)):
        return int(t)
    if hasattr(t, "value") and isinstance(getattr(t, "value"), (int, np.integer)):
        return int(t.value)  # pandas Timestamp
    if hasattr(t, "timestamp"):
        return int(round(t.timestamp() * 1e9))
    if isinstance(t, float):
        return int(t * 1e9)
    raise TypeError("a time is Unix ns (int), a datetime or a pandas Timestamp")


def open(name="default", timeout=0.0):
    """Opens instance `name` read-only and returns an Instance (a context manager).

    timeout: seconds to wait for a daemon to create the instance (0: fail at once with
    NotFound; None: wait forever; on expiry raises Timeout). PermissionError-like errors come
    as MdfeedError with the library's message (e.g. not in the daemon's group)."""
    return Instance(name, timeout)

