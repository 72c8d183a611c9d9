"""The shared-memory record layout (include/mdfeed/layout.h, health.h) as ctypes structures.

ctypes lays the fields out by the C rules of the platform, so the structures below match the C
structs as long as they name the same fields in the same order with the same types; the numpy
dtypes of mdfeed.dtypes are derived from them. The test suite checks every field offset and
every size against the C compiler's (tests/python/test_layout.py).
"""
import ctypes as C

u8, u16, u32, u64 = C.c_uint8, C.c_uint16, C.c_uint32, C.c_uint64
i32, i64 = C.c_int32, C.c_int64

NAME_MAX = 32
SYMBOL_MAX = 48
EVENT_TEXT_MAX = 112
STREAM_KEY_MAX = 64
STREAM_KIND_MAX = 32
BOOK_DEPTH_MAX = 100
HEALTH_TEXT_MAX = 96
HEALTH_URL_MAX = 128
HEALTH_STREAM_MAX = 64
HERR_COUNT = 16
REC_TYPE_COUNT = 9


class Dec(C.Structure):
    """struct mdf_dec: value = m * 10**e, exactly."""
    _fields_ = [("m", i64), ("e", i32), ("_r", u32)]


class RecHdr(C.Structure):
    """struct mdf_rec_hdr: the common header of every record."""
    _fields_ = [("type", u16), ("size", u16), ("venue", u16), ("flags", u16),
                ("symbol", u32), ("stream", u32), ("seq", u64),
                ("exch_time_ns", i64), ("tx_time_ns", i64), ("recv_time_ns", i64),
                ("venue_seq", u64)]


class Trade(C.Structure):
    _fields_ = [("h", RecHdr), ("price", Dec), ("qty", Dec), ("trade_id", i64),
                ("first_id", i64), ("last_id", i64), ("side", u8), ("_r", u8 * 7)]


class Bbo(C.Structure):
    _fields_ = [("h", RecHdr), ("bid_px", Dec), ("bid_qty", Dec), ("ask_px", Dec),
                ("ask_qty", Dec), ("update_id", i64)]


class Ticker(C.Structure):
    _fields_ = [("h", RecHdr)] + [(n, Dec) for n in (
        "last_px", "last_qty", "open_px", "high_px", "low_px", "volume", "quote_volume",
        "change", "change_pct", "vwap", "bid_px", "bid_qty", "ask_px", "ask_qty")] + [
        ("open_time_ns", i64), ("close_time_ns", i64), ("first_id", i64), ("last_id", i64),
        ("count", i64), ("prev_close_px", Dec)]


class Liquidation(C.Structure):
    _fields_ = [("h", RecHdr), ("price", Dec), ("qty", Dec), ("avg_price", Dec),
                ("filled_qty", Dec), ("side", u8), ("_r", u8 * 7), ("status", C.c_char * 16),
                ("last_qty", Dec), ("order_type", C.c_char * 16),
                ("time_in_force", C.c_char * 16)]


class Candle(C.Structure):
    _fields_ = [("h", RecHdr), ("interval", u32), ("_r", u32), ("open_time_ns", i64),
                ("close_time_ns", i64)] + [(n, Dec) for n in (
                    "open", "high", "low", "close", "volume", "quote_volume", "taker_buy_base",
                    "taker_buy_quote")] + [("trades", i64), ("first_id", i64), ("last_id", i64)]


class Level(C.Structure):
    _fields_ = [("px", Dec), ("qty", Dec), ("orders", u32), ("_r", u32)]


class BookHead(C.Structure):
    """struct mdf_book without its levels (which follow: 2 * depth struct mdf_level)."""
    _fields_ = [("h", RecHdr), ("state", u8), ("kind", u8), ("depth", u16), ("n_bids", u16),
                ("n_asks", u16), ("generation", u64), ("first_update_id", i64),
                ("last_update_id", i64), ("precision", u8), ("_r1", u8),
                ("levels_asked", u16), ("_r2", u32)]


def book_struct(depth):
    """struct mdf_book with room for `depth` levels per side (bids then asks)."""
    return type("Book%d" % depth, (C.Structure,),
                {"_fields_": BookHead._fields_ + [("levels", Level * (2 * depth))]})


class Funding(C.Structure):
    _fields_ = [("h", RecHdr), ("mark_px", Dec), ("index_px", Dec), ("est_settle_px", Dec),
                ("funding_rate", Dec), ("next_funding_time_ns", i64)]


class Event(C.Structure):
    _fields_ = [("h", RecHdr), ("level", u16), ("code", u16), ("connection", u32),
                ("text", C.c_char * EVENT_TEXT_MAX)]


class SymbolEntry(C.Structure):
    _fields_ = [("id", u32), ("venue", u16), ("_r", u16), ("native", C.c_char * SYMBOL_MAX),
                ("normalized", C.c_char * SYMBOL_MAX), ("_pad", u8 * 24)]


class StreamEntry(C.Structure):
    _fields_ = [("id", u32), ("symbol", u32), ("venue", u16), ("type", u8), ("book_kind", u8),
                ("precision", u8), ("interval", u8), ("levels", u16), ("flags", u32),
                ("retired", u32), ("key", C.c_char * STREAM_KEY_MAX),
                ("kind", C.c_char * STREAM_KIND_MAX), ("types", u32), ("_r", u32)]


class Status(C.Structure):
    _fields_ = [("liveness", C.c_int), ("pid", i64), ("epoch", u64), ("restarted", C.c_bool),
                ("heartbeat_age_ns", i64), ("hb_interval_ns", i64), ("epoch_start_ns", i64)]


class HealthDaemon(C.Structure):
    _fields_ = [("state", u32), ("_r0", u32), ("pid", i64), ("start_ns", i64),
                ("config_generation", u64), ("loop_beat_mono_ns", i64), ("msgs", u64),
                ("bytes", u64), ("records", u64), ("dups", u64), ("events", u64),
                ("errors", u64 * HERR_COUNT), ("n_venues", u32), ("n_conns", u32),
                ("n_conns_open", u32), ("n_streams", u32), ("n_streams_live", u32),
                ("n_streams_bad", u32), ("n_books", u32), ("n_books_live", u32),
                ("version", C.c_char * 16), ("status", C.c_char * HEALTH_TEXT_MAX),
                ("n_streams_failed", u32), ("n_streams_stale", u32),
                ("n_streams_silent", u32), ("_r1", u32)]


class HealthVenue(C.Structure):
    _fields_ = [("in_use", u32), ("venue", u16), ("_r0", u16), ("name", C.c_char * NAME_MAX),
                ("n_conns", u32), ("n_streams", u32), ("rest_weight_used", u32),
                ("rest_weight_limit", u32), ("rest_queued", u32), ("_r1", u32),
                ("rest_requests", u64), ("rest_throttled", u64), ("rest_paused_until_ns", i64),
                ("conn_attempts", u64), ("conn_admit_waits", u64),
                # layout 2.1: name lookups of the entry's hosts stuck past the timeout
                ("dns_stuck", u32), ("_r2", u32), ("dns_stuck_total", u64)]


class HealthConn(C.Structure):
    _fields_ = [("in_use", u32), ("id", u32), ("venue", u16), ("state", u8), ("role", u8),
                ("n_streams", u32), ("endpoint", C.c_char * HEALTH_URL_MAX),
                ("connected_ns", i64), ("connected_mono_ns", i64), ("last_msg_ns", i64),
                ("last_msg_mono_ns", i64), ("reconnects", u64), ("bytes_in", u64),
                ("bytes_out", u64), ("msgs_in", u64), ("msgs_out", u64), ("pings_in", u64),
                ("pings_out", u64), ("pongs_in", u64), ("last_error", i32),
                ("watchdog_ms", u32), ("last_error_ns", i64),
                ("last_error_text", C.c_char * HEALTH_TEXT_MAX)]


class HealthStream(C.Structure):
    _fields_ = [("in_use", u32), ("venue", u16), ("type", u8), ("state", u8), ("symbol", u32),
                ("connection", u32), ("interval", u32), ("levels", u16), ("book_state", u8),
                ("_r0", u8), ("name", C.c_char * HEALTH_STREAM_MAX), ("msgs", u64),
                ("dups", u64), ("gaps", u64), ("resyncs", u64), ("book_generation", u64),
                ("last_exch_ns", i64), ("last_recv_ns", i64), ("last_mono_ns", i64),
                ("delay_ewma_ns", i64), ("delay_max_ns", i64), ("stale_after_ms", u32),
                ("cadence_ms", u32), ("decode_errors", u64), ("owed_mono_ns", i64)]


class HealthRing(C.Structure):
    _fields_ = [("in_use", u32), ("ring_id", u32), ("name", C.c_char * 16), ("capacity", u64),
                ("head", u64), ("slot_size", u32), ("_r0", u32), ("rate", u64)]


# Every structure the layout test compares with the C compiler's, by C struct name.
C_STRUCTS = {
    "mdf_dec": Dec, "mdf_rec_hdr": RecHdr, "mdf_trade": Trade, "mdf_bbo": Bbo,
    "mdf_ticker": Ticker, "mdf_liquidation": Liquidation, "mdf_candle": Candle,
    "mdf_level": Level, "mdf_book": BookHead, "mdf_funding": Funding, "mdf_event": Event,
    "mdf_symbol_entry": SymbolEntry, "mdf_stream_entry": StreamEntry, "mdf_status": Status,
    "mdf_health_daemon": HealthDaemon, "mdf_health_venue": HealthVenue,
    "mdf_health_conn": HealthConn, "mdf_health_stream": HealthStream,
    "mdf_health_ring": HealthRing,
}
