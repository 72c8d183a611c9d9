"""The daemon's health segment (what mdfeed-top shows), as plain dicts: counters, states,
rates per second between two snapshots and the recent events."""
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
_LEVELS = ("emerg", "alert", "crit", "error", "warning", "notice", "info", "debug")

#: recent events a snapshot lists (mdfeed-top's TOP_EVENTS)
EVENTS = 20


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


def _events(md, venues, syms, out):
    """The newest EVENTS events the events ring holds, oldest first, as mdfeed-top --json
    lists them, and events_lost (events overwritten while they were read)."""
    from .records import _s
    evs, lost = [], 0
    with md.subscribe("events", start="oldest", batch=4096) as sub:
        while True:
            b = sub.read()
            lost += b.lost
            if not len(b):
                break
            evs = (evs + list(b.events))[-EVENTS:]
    rows = []
    for e in evs:
        h = e["h"]
        sym = int(h["symbol"])
        s = syms.get(sym)
        rows.append({
            "seq": int(h["seq"]),
            "time_ns": int(h["recv_time_ns"]) or int(h["exch_time_ns"]),
            "level": int(e["level"]),
            "level_name": _LEVELS[int(e["level"])] if int(e["level"]) < 8 else "?",
            "code": text(lib.mdf_event_code_name(int(e["code"]))),
            "connection": int(e["connection"]),
            "venue": venues.get(int(h["venue"])) or None,
            "symbol": None if sym == 0xFFFFFFFF else (s.native if s else "#%d" % sym),
            "text": _s(e["text"])})
    out["events"], out["events_lost"] = rows, lost


def _tops(md, venues, syms, out):
    """Each book stream's top of book from its own latest book, as mdfeed-top's "top"."""
    from .decimals import to_str
    from .records import book_sides
    for st in out["streams"]:
        sym = syms.get(st["symbol"])
        if st["type_id"] not in (4, 5) or sym is None:
            continue
        try:
            sid = md.find_stream("%s:%s" % (venues.get(st["venue"]), sym.native), st["name"])
            b = md.latest_book(stream=sid)
        except Exception:
            continue
        if b is None or int(b["h"]["stream"]) != sid or not int(b["depth"]):
            continue
        bids, asks = book_sides(b)
        st["top"] = {"bid_px": to_str(bids[0]["px"]) if len(bids) else None,
                     "bid_qty": to_str(bids[0]["qty"]) if len(bids) else None,
                     "ask_px": to_str(asks[0]["px"]) if len(asks) else None,
                     "ask_qty": to_str(asks[0]["qty"]) if len(asks) else None,
                     "n_bids": int(b["n_bids"]), "n_asks": int(b["n_asks"])}


def _names(instance, out):
    """Venue and symbol names beside their ids, ages and the recent events, as mdfeed-top
    --json gives them."""
    venues = {v["venue"]: v["name"] for v in out["venues"]}
    syms = {}
    out["events"], out["events_lost"] = [], 0
    try:
        from .instance import Instance
        with Instance(instance, 0) as md:
            syms = {s.id: s for s in md.symbols()}
            _events(md, venues, syms, out)
            _tops(md, venues, syms, out)
    except Exception:
        pass  # the state segment is gone or unreadable: ids only, no events
    now = out["mono_ns"]
    for v in out["venues"]:
        v["id"] = v["venue"]
        v["conns"], v["streams"] = v["n_conns"], v["n_streams"]
    for c in out["connections"]:
        c["venue_id"] = c["venue"]
        c["venue"] = venues.get(c["venue_id"])
        c["streams"] = c["n_streams"]
        c["uptime_ns"] = max(0, now - c["connected_mono_ns"]) if c["connected_mono_ns"] else 0
        c["last_msg_age_ns"] = (max(0, now - c["last_msg_mono_ns"]) if c["last_msg_mono_ns"]
                                else None)
    for st in out["streams"]:
        st.setdefault("top", None)
        st["venue_id"] = st["venue"]
        st["venue"] = venues.get(st["venue_id"])
        st["symbol_id"] = st["symbol"]
        sym = syms.get(st["symbol"])
        st["symbol"] = sym.native if sym else None
        st["normalized"] = sym.normalized if sym else None
        st["interval"] = (text(lib.mdf_interval_name(st["interval"]))
                          if st["type_id"] == 3 and st["interval"] else None)  # candles
        st["last_age_ns"] = max(0, now - st["last_mono_ns"]) if st["last_mono_ns"] else None
        if st["type_id"] not in (4, 5):  # not a book stream (MDF_STREAM_DEPTH, _BOOK)
            st["book_state"] = st["book_generation"] = None
    for r in out["rings"]:
        r["id"] = r["ring_id"]
        r["fill"] = min(r["head"], r["capacity"])


def _rate(a, b, dt):
    return (b - a) / dt if dt > 0 and b >= a else None


def _rates(out, prev):
    """The *_per_s rates of mdfeed-top: counter deltas since snapshot `prev` (None where
    there is no previous value for the same entry, as mdfeed-top's null)."""
    dt = (out["mono_ns"] - prev["mono_ns"]) / 1e9 if prev else 0.0
    d, pd = out["daemon"], prev["daemon"] if prev else None
    same = pd is not None and pd.get("epoch") == d.get("epoch") and "msgs" in pd
    d["msgs_per_s"] = _rate(pd["msgs"], d["msgs"], dt) if same else None
    d["records_per_s"] = _rate(pd["records"], d["records"], dt) if same else None
    pc = {c["slot"]: c for c in prev["connections"]} if same else {}
    for c in out["connections"]:
        p = pc.get(c["slot"])
        ok = p is not None and p["id"] == c["id"]
        c["msgs_per_s"] = _rate(p["msgs_in"], c["msgs_in"], dt) if ok else None
        c["bytes_per_s"] = _rate(p["bytes_in"], c["bytes_in"], dt) if ok else None
    ps = {x["slot"]: x for x in prev["streams"]} if same else {}
    for x in out["streams"]:
        p = ps.get(x["slot"])
        ok = p is not None and all(p[k] == x[k] for k in ("venue_id", "symbol_id", "type_id",
                                                          "name"))
        x["msgs_per_s"] = _rate(p["msgs"], x["msgs"], dt) if ok else None
    pr = {r["id"]: r for r in prev["rings"]} if same else {}
    for r in out["rings"]:
        p = pr.get(r["id"])
        r["records_per_s"] = _rate(p["head"], r["head"], dt) if p is not None else None


def health(instance="default", since=None, interval=None):
    """A snapshot of instance `instance`'s health segment, as mdfeed-top --json shows it:
    {"instance", "time_ns", "mono_ns", "daemon": {...}, "venues": [...], "connections":
    [...], "streams": [...], "rings": [...], "events": [...], "events_lost"}.

    Entries carry the C struct's fields (include/mdfeed/health.h) under mdfeed-top's names:
    enums by name (the number beside as <field>_id, venue_id, symbol_id), venue and symbol
    names, ages in ns, table slots; the daemon entry has the liveness (alive, liveness, pid,
    epoch, heartbeat_age_ns, hb_interval_ns). "events" lists the newest 20 events the events
    ring holds, oldest first (seq, time_ns, level, level_name, code, connection, venue,
    symbol, text).

    Rates per second, as mdfeed-top's: daemon msgs_per_s and records_per_s, connection
    msgs_per_s and bytes_per_s, stream msgs_per_s, ring records_per_s. They are counter
    deltas between two snapshots over their CLOCK_MONOTONIC distance, so one snapshot alone
    has them None: pass `since`, an earlier snapshot of the same instance (prev =
    health(); ...; h = health(since=prev)), or `interval` seconds to take a first snapshot,
    sleep that long and return the second. An entry new since then, or a daemon restarted in
    between, has None rates. Raises NotFound if no daemon has run the instance."""
    if interval is not None:
        since = health(instance)
        time.sleep(interval)
    h = C.c_void_p()
    check(lib.mdf_health_open(C.byref(h), instance.encode()))
    try:
        st = L.Status()
        check(lib.mdf_health_status(h, C.byref(st)))
        out = {"instance": instance, "time_ns": time.time_ns(),
               "mono_ns": time.clock_gettime_ns(time.CLOCK_MONOTONIC)}
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
                    if key in ("connections", "streams"):
                        rows[-1]["slot"] = i
            out[key] = rows
        _names(instance, out)
        _rates(out, since)
        return out
    finally:
        lib.mdf_health_close(h)
