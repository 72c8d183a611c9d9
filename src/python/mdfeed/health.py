"""The daemon's health segment (what mdfeed-top shows), as plain dicts."""
import ctypes as C

from . import _layout as L
from ._lib import lib, text
from .errors import ECONTENDED, check
from .instance import LIVENESS

_TABLES = (("venues", 1, L.HealthVenue, "mdf_health_venue"),
           ("connections", 2, L.HealthConn, "mdf_health_conn"),
           ("streams", 3, L.HealthStream, "mdf_health_stream"),
           ("rings", 4, L.HealthRing, "mdf_health_ring"))

_NAMES = {
    ("daemon", "state"): lib.mdf_daemon_state_name,
    ("connections", "state"): lib.mdf_conn_state_name,
    ("streams", "state"): lib.mdf_stream_state_name,
    ("streams", "type"): lib.mdf_stream_type_name,
    ("streams", "book_state"): lib.mdf_book_state_name,
}
_ROLES = {0: "active", 1: "replacement", 2: "retiring"}


def _as_dict(table, s):
    d = {}
    for name, _ in s._fields_:
        if name.startswith("_"):
            continue
        v = getattr(s, name)
        if isinstance(v, bytes):
            v = v.decode("utf-8", "replace")
        elif hasattr(v, "__len__"):
            v = list(v)
        fn = _NAMES.get((table, name))
        if fn is not None:
            d[name + "_id"] = v
            v = text(fn(v))
        d[name] = v
    if table == "connections":
        d["role"] = _ROLES.get(d["role"], "?")
    if table == "daemon":
        d["errors"] = {text(lib.mdf_health_err_name(i)): n for i, n in enumerate(d["errors"])
                       if text(lib.mdf_health_err_name(i)) != "?"}
    return d


def _read(fn, *args):
    for _ in range(100):  # a busy writer: try again, as mdfeed-top does
        rc = fn(*args)
        if rc != ECONTENDED:
            return check(rc)
    return check(rc)


def health(instance="default"):
    """A snapshot of instance `instance`'s health segment: {"liveness": {...}, "daemon": {...},
    "venues": [...], "connections": [...], "streams": [...], "rings": [...]}, each entry a
    dict of the C struct's fields (include/mdfeed/health.h) with enum fields by name (the id
    beside as <field>_id). Raises NotFound if no daemon has run the instance."""
    h = C.c_void_p()
    check(lib.mdf_health_open(C.byref(h), instance.encode()))
    try:
        st = L.Status()
        check(lib.mdf_health_status(h, C.byref(st)))
        out = {"liveness": {"liveness": LIVENESS.get(st.liveness, "?"), "pid": st.pid,
                            "epoch": st.epoch, "heartbeat_age_ns": st.heartbeat_age_ns,
                            "hb_interval_ns": st.hb_interval_ns}}
        d = L.HealthDaemon()
        _read(lib.mdf_health_daemon, h, C.byref(d))
        out["daemon"] = _as_dict("daemon", d)
        for key, table, struct, fname in _TABLES:
            rows = []
            for i in range(lib.mdf_health_count(h, table)):
                e = struct()
                _read(getattr(lib, fname), h, i, C.byref(e))
                if e.in_use:
                    rows.append(_as_dict(key, e))
            out[key] = rows
        return out
    finally:
        lib.mdf_health_close(h)
