"""Subscriptions: a cursor over one ring, read in batches into numpy arrays.

A batch read is one call into libmdfeed (mdf_read) that copies up to `max` records at a fixed
stride into a buffer the subscription owns; the records are then split by type into compact
structured arrays (copies: nothing returned points into the buffer or into shared memory).
"""
import builtins
import ctypes as C
import time

import numpy as np

from . import dtypes as D
from ._lib import lib
from .errors import check, error

START_NOW, START_OLDEST, START_SEQ = 0, 1, 2

#: longest single mdf_wait call (ms): a blocked wait re-checks its deadline and the daemon's
#: liveness at least this often, and an asyncio reader returns to the loop this often
WAIT_SLICE_MS = 100


class Batch:
    """Records read by one Subscription.read call.

    Per type, a structured numpy array in ring order (empty arrays for absent types):
    `trades`, `bbo`, `tickers`, `liquidations`, `candles`, `books`, `funding`, `events`.
    `lost` is the exact number of records the subscription missed to laps in front of these
    (their places show as gaps in h.seq); `seq` holds every record's sequence number and
    `types` every record's type, in ring order; len(batch) is the record count.
    """

    __slots__ = ("ring", "lost", "seq", "types", "_arrays", "_order", "_depth")

    def __init__(self, ring, lost, seq, types, arrays, order, depth):
        self.ring, self.lost, self.seq, self.types = ring, lost, seq, types
        self._arrays, self._order, self._depth = arrays, order, depth

    def __len__(self):
        return len(self.seq)

    def __getattr__(self, name):
        for t, field in D.BATCH_FIELDS.items():
            if field == name:
                a = self._arrays.get(t)
                return a if a is not None else np.empty(0, D.record_dtype(t, self._depth))
        raise AttributeError(name)

    def of_type(self, rtype):
        """The array of record type `rtype` (an int or a name such as "trade")."""
        if isinstance(rtype, str):
            rtype = {v: k for k, v in D.TYPE_NAMES.items()}[rtype]
        return getattr(self, D.BATCH_FIELDS[rtype])

    def __iter__(self):
        """The records in ring order, each a numpy structured scalar of its type."""
        arrays = self._arrays
        for t, k in zip(self.types.tolist(), self._order.tolist()):
            yield arrays[t][k]

    def __repr__(self):
        parts = ["%s=%d" % (D.BATCH_FIELDS[t], len(a)) for t, a in sorted(self._arrays.items())]
        return "<mdfeed.Batch %s: %d records, lost %d%s>" % (
            self.ring, len(self), self.lost, (", " + ", ".join(parts)) if parts else "")


class Subscription:
    """A cursor over one ring of an instance (made by Instance.subscribe). Use it from one
    thread (or one asyncio task) at a time; close it (or use `with`) before the instance."""

    def __init__(self, inst, ring, start="now", batch=4096):
        self.instance = inst
        self.ring = ring if isinstance(ring, str) else _ring_name(ring)
        if self.ring not in D.RINGS:
            raise ValueError("unknown ring %r (one of %s)" % (ring, ", ".join(D.RINGS)))
        self.ring_id = D.RINGS[self.ring]
        if start == "now":
            mode, seq = START_NOW, 0
        elif start == "oldest":
            mode, seq = START_OLDEST, 0
        elif isinstance(start, (int, np.integer)) and start >= 0:
            mode, seq = START_SEQ, int(start)
        else:
            raise ValueError("start must be 'now', 'oldest' or a sequence number")
        h = C.c_void_p()
        check(lib.mdf_subscribe(inst._h, self.ring_id, mode, seq, C.byref(h)))
        self._h = h
        self._depth = inst.book_depth
        self.stride = lib.mdf_sub_record_max(h)
        self._buf = np.empty(0, np.uint8)
        self._lost = C.c_uint64()
        self._batch = batch
        self._pending = None
        self._ring_types = [t for t in D.TYPE_NAMES if lib.mdf_rec_type_ring(t) == self.ring_id]

    # -- life cycle --
    def close(self):
        """Unmaps the ring (idempotent)."""
        if self._h:
            if self._pending is not None and not self._pending.done():
                # An executor thread is inside mdf_wait on this cursor: let it return first
                # (within WAIT_SLICE_MS), never free the cursor under it.
                import concurrent.futures as cf
                cf.wait([self._pending])
            lib.mdf_unsubscribe(self._h)
            self._h = None
            try:
                self.instance._subs.remove(self)
            except ValueError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            if self._h and (self._pending is None or self._pending.done()):
                lib.mdf_unsubscribe(self._h)
                self._h = None
        except Exception:
            pass

    def _handle(self):
        if not self._h:
            raise ValueError("subscription is closed")
        return self._h

    # -- positions --
    @property
    def position(self):
        """Sequence number this cursor reads next (save it to resume with start=seq)."""
        return lib.mdf_sub_position(self._handle())

    @property
    def tail(self):
        """The ring's next sequence number to be published."""
        return lib.mdf_sub_tail(self._handle())

    @property
    def delivered(self):
        """Records delivered to this subscription so far."""
        d = C.c_uint64()
        lib.mdf_sub_counts(self._handle(), C.byref(d), None)
        return d.value

    @property
    def lost(self):
        """Records this subscription lost to laps so far (exact)."""
        n = C.c_uint64()
        lib.mdf_sub_counts(self._handle(), None, C.byref(n))
        return n.value

    # -- reading --
    def read_raw(self, max=None):
        """Reads up to `max` records (default: the batch size) into the subscription's buffer
        without splitting them. Returns (rows, lost): rows is a (n, stride) uint8 view that the
        next read overwrites."""
        max = self._batch if max is None else int(max)
        if max <= 0:
            raise ValueError("max must be >= 1")
        if len(self._buf) < max * self.stride:
            self._buf = np.empty(max * self.stride, np.uint8)
        n = check(lib.mdf_read(self._handle(), self._buf.ctypes.data, self.stride, max,
                               C.byref(self._lost)))
        return self._buf[: n * self.stride].reshape(n, self.stride), self._lost.value

    def read(self, max=None, copy=True):
        """Reads up to `max` committed records without waiting and returns a Batch (possibly
        empty) of per-type structured arrays with the exact lost count.

        copy=False skips the copy out of the subscription's buffer where it can: a ring of one
        record type (candles, books, funding, events, or a ticks ring that held only one type
        this time) comes back as a strided view that the next read overwrites; use it for
        the fastest scans, and copy what you keep."""
        rows, lost = self.read_raw(max)
        n = len(rows)
        base = rows.base if n else None
        flat = rows.reshape(-1)
        types = flat.view(np.uint16)[:: self.stride // 2][:n] if n else np.empty(0, np.uint16)
        seq = np.ndarray((n,), np.uint64, flat, 16, (self.stride,)) if n else np.empty(0, np.uint64)
        seq = seq.copy()
        arrays, order = {}, np.zeros(n, np.intp)
        present = self._ring_types if n else []
        if len(present) > 1:
            present = [int(t) for t in np.unique(types)]
        elif n and not np.all(types == present[0]):
            present = [int(t) for t in np.unique(types)]
        for t in present:
            if t not in D.TYPE_NAMES:
                continue  # a type this package does not know (a newer daemon): skipped
            dt = D.record_dtype(t, self._depth)
            if dt.itemsize > self.stride:
                continue
            view = np.ndarray((n,), dt, flat, 0, (self.stride,))
            if len(present) == 1:
                arrays[t] = view.copy() if copy else view
                order = np.arange(n)
            else:
                mask = types == t
                arrays[t] = view[mask]
                order[mask] = np.arange(int(mask.sum()))
        del base
        return Batch(self.ring, lost, seq, types.copy(), arrays, order, self._depth)

    def wait(self, timeout=None):
        """Blocks until a record is ready (True) or `timeout` seconds pass (False; None waits
        forever). Raises DaemonDead if the daemon dies meanwhile (noticed within about one
        heartbeat period, 100 ms) and Retired if the ring was replaced. Other threads run
        meanwhile: the GIL is released inside each wait slice."""
        h = self._handle()
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if deadline is None:
                ms = WAIT_SLICE_MS
            else:
                ms = int(min(WAIT_SLICE_MS, max(0.0, deadline - time.monotonic()) * 1000))
            rc = lib.mdf_wait(h, ms)
            if rc < 0:
                raise error(rc)
            if rc == 1:
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False

    def read_wait(self, max=None, timeout=None):
        """Waits up to `timeout` seconds for records, then reads them (an empty Batch if none
        came)."""
        b = self.read(max)
        if len(b) or b.lost or not self.wait(timeout):
            return b
        return self.read(max)

    def records(self, timeout=None):
        """Generator of records (numpy structured scalars, in ring order) that waits for new
        ones; it ends after `timeout` seconds without a record (None: never). Lost records
        show in `self.lost` and as gaps in h.seq."""
        while True:
            b = self.read()
            if len(b):
                yield from b
                continue
            if not self.wait(timeout):
                return

    __iter__ = records

    # -- asyncio --
    async def aread(self, max=None, timeout=None):
        """Awaits records without blocking the event loop: reads at once if any are
        committed, else waits in an executor thread (in slices of WAIT_SLICE_MS) and reads.
        Returns a Batch, empty after `timeout` seconds without records."""
        import asyncio  # here, not at import: it costs a reader's start-up 20 ms

        b = self.read(max)
        if len(b) or b.lost:
            return b
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        h = self._handle()
        while True:
            ms = WAIT_SLICE_MS
            if deadline is not None:
                ms = int(min(ms, builtins.max(0.0, deadline - loop.time()) * 1000))
            self._pending = loop.run_in_executor(None, lib.mdf_wait, h, ms)
            try:
                rc = await asyncio.shield(self._pending)
            except asyncio.CancelledError:
                await asyncio.wait([self._pending])  # never leave a wait running on h
                raise
            if rc < 0:
                raise error(rc)
            if rc == 1:
                return self.read(max)
            if deadline is not None and loop.time() >= deadline:
                return self.read(max)

    async def arecords(self, timeout=None):
        """Async generator of records: `async for rec in sub.arecords():`. Ends after
        `timeout` seconds without a record (None: never)."""
        while True:
            b = await self.aread(timeout=timeout)
            if not len(b):
                return
            for r in b:
                yield r

    def __aiter__(self):
        return self.arecords()

    def __repr__(self):
        state = "closed" if not self._h else "at %d" % self.position
        return "<mdfeed.Subscription %s %s>" % (self.ring, state)


def _ring_name(ring_id):
    for k, v in D.RINGS.items():
        if v == ring_id:
            return k
    raise ValueError("unknown ring id %r" % (ring_id,))
