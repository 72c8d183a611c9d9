"""The daemon's health segment (what mdfeed-top shows), as plain dicts."""
import ctypes as C
import time

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


def _names(instance, out):
    """Venue and symbol names beside their ids, and ages, as mdfeed-top --json gives them."""
    venues = {v["venue"]: v["name"] for v in out["venues"]}
    syms = {}
    try:
        from .instance import Instance
        with Instance(instance, 0) as md:
            syms = {s.id: s for s in md.symbols()}
    except Exception:
        pass  # the state segment is gone or unreadable: ids only
    now = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    for v in out["venues"]:
        v["id"] = v["venue"]
    for c in out["connections"]:
        c["venue_id"] = c["venue"]
        c["venue"] = venues.get(c["venue_id"])
        c["uptime_ns"] = now - c["connected_mono_ns"] if c["connected_mono_ns"] else 0
        c["last_msg_age_ns"] = now - c["last_msg_mono_ns"] if c["last_msg_mono_ns"] else None
    for st in out["streams"]:
        st["venue_id"] = st["venue"]
        st["venue"] = venues.get(st["venue_id"])
        st["symbol_id"] = st["symbol"]
        sym = syms.get(st["symbol"])
        st["symbol"] = sym.native if sym else None
        st["normalized"] = sym.normalized if sym else None
        st["interval"] = (text(lib.mdf_interval_name(st["interval"]))
                          if st["type_id"] == 3 and st["interval"] else None)  # candles
        st["last_age_ns"] = now - st["last_mono_ns"] if st["last_mono_ns"] else None
        if st["type_id"] not in (4, 5):  # not a book stream (MDF_STREAM_DEPTH, _BOOK)
            st["book_state"] = st["book_generation"] = None
    for r in out["rings"]:
        r["id"] = r["ring_id"]


def health(instance="default"):
    """A snapshot of instance `instance`'s health segment, as mdfeed-top --json shows it:
    {"instance", "time_ns", "daemon": {...}, "venues": [...], "connections": [...],
    "streams": [...], "rings": [...]}. Entries carry the C struct's fields
    (include/mdfeed/health.h) under mdfeed-top's names: enums by name (the number beside as
    <field>_id, venue_id, symbol_id), venue and symbol names, ages in ns; the daemon entry
    has the liveness (alive, liveness, pid, epoch, heartbeat_age_ns, hb_interval_ns). Rates
    per second (mdfeed-top's *_per_s, from two snapshots) and the events list are not included:
    read the events ring for those. Raises NotFound if no daemon has run the instance."""
    h = C.c_void_p()
    check(lib.mdf_health_open(C.byref(h), instance.encode()))
    try:
        st = L.Status()
        check(lib.mdf_health_status(h, C.byref(st)))
        out = {"instance": instance, "time_ns": time.time_ns()}
        d = L.HealthDaemon()
        _read(lib.mdf_health_daemon, h, C.byref(d))
        dd = _as_dict("daemon", d)
        dd.update({"alive": st.liveness == 0, "liveness": LIVENESS.get(st.liveness, "?"),
                   "epoch": st.epoch, "heartbeat_age_ns": st.heartbeat_age_ns,
                   "hb_interval_ns": st.hb_interval_ns,
                   "uptime_ns": max(0, time.time_ns() - dd["start_ns"]),
                   "errors_total": sum(dd["errors"].values())})
        out["daemon"] = dd
        for key, table, struct, fname in _TABLES:
            rows = []
            for i in range(lib.mdf_health_count(h, table)):
                e = struct()
                _read(getattr(lib, fname), h, i, C.byref(e))
                if e.in_use:
                    rows.append(_as_dict(key, e))
            out[key] = rows
        _names(instance, out)
        return out
    finally:
        lib.mdf_health_close(h)
