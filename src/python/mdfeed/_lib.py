"""Loading libmdfeed and declaring the C functions the package calls (ctypes).

Search order for the library: the file named by $MDFEED_LIB; the in-tree build next to this
source (<repo>/build/lib/libmdfeed.so.2, when the package runs from src/python); then the
system's dynamic linker ("libmdfeed.so.2", as `make install` put it). ctypes drops the GIL for
every foreign call, so a thread blocked in mdf_wait never stops the others.
"""
import ctypes as C
import os

from . import _layout as L

SONAME = "libmdfeed.so.2"


def _candidates():
    env = os.environ.get("MDFEED_LIB")
    if env:
        return [env]
    here = os.path.dirname(os.path.abspath(__file__))
    tree = os.path.normpath(os.path.join(here, "..", "..", "..", "build", "lib", SONAME))
    return [tree, SONAME] if os.path.exists(tree) else [SONAME]


def _load():
    errors = []
    for path in _candidates():
        try:
            return C.CDLL(path), path
        except OSError as e:
            errors.append("%s: %s" % (path, e))
    raise ImportError("mdfeed: cannot load libmdfeed (%s); set MDFEED_LIB to its path"
                      % "; ".join(errors))


lib, path = _load()

P = C.c_void_p
_i, _u32, _i64, _u64, _sz = C.c_int, C.c_uint32, C.c_int64, C.c_uint64, C.c_size_t
_s = C.c_char_p

# name: (restype, argtypes)
_PROTOS = {
    "mdf_errmsg": (_s, []),
    "mdf_strerror": (_s, [_i]),
    "mdf_open": (_i, [C.POINTER(P), _s, _i]),
    "mdf_close": (None, [P]),
    "mdf_status": (_i, [P, C.POINTER(L.Status)]),
    "mdf_venue_count": (_u32, [P]),
    "mdf_symbol_count": (_u32, [P]),
    "mdf_venue_name": (_s, [P, _u32]),
    "mdf_symbol_lookup": (_i64, [P, _s]),
    "mdf_symbol_info": (_i, [P, _u32, C.POINTER(L.SymbolEntry)]),
    "mdf_stream_count": (_u32, [P]),
    "mdf_stream_find": (_i64, [P, _s, _s]),
    "mdf_stream_info": (_i, [P, _u32, C.POINTER(L.StreamEntry)]),
    "mdf_book_kind_name": (_s, [_i]),
    "mdf_ring_name": (_s, [_i]),
    "mdf_ring_from_name": (_i, [_s]),
    "mdf_subscribe": (_i, [P, _i, _i, _u64, C.POINTER(P)]),
    "mdf_unsubscribe": (None, [P]),
    "mdf_read": (_i, [P, P, _sz, _sz, C.POINTER(_u64)]),
    "mdf_sub_record_max": (_sz, [P]),
    "mdf_wait": (_i, [P, _i]),
    "mdf_sub_position": (_u64, [P]),
    "mdf_sub_tail": (_u64, [P]),
    "mdf_sub_counts": (None, [P, C.POINTER(_u64), C.POINTER(_u64)]),
    "mdf_book_depth": (_u32, [P]),
    "mdf_candle_capacity": (_u32, [P]),
    "mdf_candles_last": (_i, [P, _u32, _i, P, _sz]),
    "mdf_candles_range": (_i, [P, _u32, _i, _i64, _i64, P, _sz]),
    "mdf_interval_name": (_s, [_i]),
    "mdf_interval_from_name": (_i, [_s]),
    "mdf_interval_ns": (_i64, [_i]),
    "mdf_rec_type_size": (_sz, [_i, _u32]),
    "mdf_rec_type_ring": (_i, [_i]),
    "mdf_rec_type_name": (_s, [_i]),
    "mdf_book_state_name": (_s, [_i]),
    "mdf_event_code_name": (_s, [_i]),
    "mdf_health_open": (_i, [C.POINTER(P), _s]),
    "mdf_health_close": (None, [P]),
    "mdf_health_status": (_i, [P, C.POINTER(L.Status)]),
    "mdf_health_count": (_u32, [P, _i]),
    "mdf_health_daemon": (_i, [P, C.POINTER(L.HealthDaemon)]),
    "mdf_health_venue": (_i, [P, _u32, C.POINTER(L.HealthVenue)]),
    "mdf_health_conn": (_i, [P, _u32, C.POINTER(L.HealthConn)]),
    "mdf_health_stream": (_i, [P, _u32, C.POINTER(L.HealthStream)]),
    "mdf_health_ring": (_i, [P, _u32, C.POINTER(L.HealthRing)]),
    "mdf_daemon_state_name": (_s, [_i]),
    "mdf_conn_state_name": (_s, [_i]),
    "mdf_stream_state_name": (_s, [_i]),
    "mdf_stream_type_name": (_s, [_i]),
    "mdf_health_err_name": (_s, [_i]),
}
for _n in ("bbo", "trade", "ticker", "funding"):
    _PROTOS["mdf_latest_%s" % _n] = (_i, [P, _u32, P])
    _PROTOS["mdf_latest_%s_stream" % _n] = (_i, [P, _u32, P])
_PROTOS["mdf_latest_book"] = (_i, [P, _u32, P, _sz])
_PROTOS["mdf_latest_book_stream"] = (_i, [P, _u32, P, _sz])

for _name, (_res, _args) in _PROTOS.items():
    _f = getattr(lib, _name)
    _f.restype = _res
    _f.argtypes = _args


def text(b):
    """C string (bytes or None) to str."""
    return b.decode("utf-8", "replace") if b is not None else None
