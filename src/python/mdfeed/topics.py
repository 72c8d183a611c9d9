"""A topic view for strategies written against an asyncio message bus.

    import asyncio, mdfeed

    async def on_candle(topic, key, c):          # key: "binance-spot:BTCUSDT"
        print(key, mdfeed.interval_name(c["interval"]), mdfeed.to_float(c["close"]))

    async def main():
        with mdfeed.open("default", timeout=5) as md:
            bus = mdfeed.topics.Bus(md)
            bus.on("candles", ["binance-spot:BTCUSDT"], on_candle, interval="1m", closed=True)
            bus.on("books", ["binance-spot:BTC/USDT"], lambda t, k, b: ...)
            bus.on("funding", ["binance-futures:BTCUSDT"], on_funding)
            bus.on("health", None, lambda t, k, h: print(h["daemon"]["records_per_s"]))
            runner = asyncio.create_task(bus.run())
            async for topic, key, t in bus.stream("tickers", ["binance-spot:ETHUSDT"]):
                ...
            bus.stop(); await runner; bus.close()

    asyncio.run(main())

Porting a strategy written against a bus: where it did `bus.subscribe("candles.1m",
"BTCUSDT", handler)`, write `bus.on("candles", ["binance-spot:BTCUSDT"], handler,
interval="1m", closed=True)`; the handler receives (topic, key, record) with the record a numpy
structured scalar (mdfeed.to_dict(rec) for a dict, mdfeed.to_float(rec["close"]) for a float,
mdfeed.to_decimal for an exact Decimal, mdfeed.book_sides(rec) for a book's bids and asks).

Topics: "trades", "bbo", "tickers", "liquidations" (ring ticks), "candles", "books", "funding"
(mark price and funding rate, futures), "events" (the daemon's events), and "health" (an
mdfeed.health() snapshot every `health_every` seconds, with rates since the previous one). A
handler is called as handler(topic, key, rec) with `key` the symbol's "venue:SYMBOL" (None for
records without a symbol, such as most events, and for health); coroutine functions are
awaited, in ring order. Symbols ("venue:SYMBOL" in either form, or ids): None or [] means every
symbol.

How it waits: run() starts one thread per ring it reads (from "now"); each blocks in mdf_wait
on the ring's doorbell (no polling: an idle bus wakes neither the loop nor the CPU), reads
what came in batches and hands them to the event loop with call_soon_threadsafe, where the
handlers run. At most `max_pending` batches per ring wait for the loop; a thread whose loop is
that far behind stops reading, and the ring laps it: records lost that way are counted in
`bus.lost` (exact). A dead daemon or a replaced instance ends run() with DaemonDead or Retired;
an exception from a handler ends run() with it too.
"""
import asyncio
import inspect
import threading

import numpy as np

from . import dtypes as D

_TOPIC_TYPE = {"trades": D.TRADE, "bbo": D.BBO, "tickers": D.TICKER,
               "liquidations": D.LIQUIDATION, "candles": D.CANDLE, "books": D.BOOK,
               "funding": D.FUNDING, "events": D.EVENT}
_TYPE_RING = {D.TRADE: "ticks", D.BBO: "ticks", D.TICKER: "ticks", D.LIQUIDATION: "ticks",
              D.CANDLE: "candles", D.BOOK: "books", D.FUNDING: "funding", D.EVENT: "events"}
TOPICS = tuple(_TOPIC_TYPE) + ("health",)

#: longest a reader thread waits in one go (s): how soon it notices stop()
_SLICE = 0.1
_STOP = object()


class _Sub:
    __slots__ = ("topic", "syms", "fn", "interval", "closed")

    def __init__(self, topic, syms, fn, interval, closed):
        self.topic, self.syms, self.fn = topic, syms, fn
        self.interval, self.closed = interval, closed

    def wants(self, rec, sym_id):
        if self.syms is not None and sym_id not in self.syms:
            return False
        if self.interval is not None and int(rec["interval"]) != self.interval:
            return False
        if self.closed and not int(rec["h"]["flags"]) & D.CANDLE_F_CLOSED:
            return False
        return True


class Bus:
    """Topics over one open Instance; see the module documentation.

    health_every: seconds between "health" snapshots; batch: most records read per ring at a
    time; max_pending: batches per ring that may wait for the event loop."""

    def __init__(self, inst, health_every=1.0, batch=4096, max_pending=64):
        self.inst = inst
        self.health_every = health_every
        self.batch = batch
        self.max_pending = max_pending
        #: records lost to laps, all rings together (exact)
        self.lost = 0
        self._subs = {}       # record type -> [_Sub]
        self._health = []     # [_Sub]
        self._rings = {}      # ring name -> Subscription
        self._keys = {}
        self._stop = False
        self._loop = None     # the running loop while run() runs
        self._queue = None

    def on(self, topic, symbols, handler, interval=None, closed=False):
        """Calls handler(topic, key, rec) for every record of `topic` for `symbols` (None:
        all). Candles: `interval` ("1m", ...) and closed=True (only final candles) filter.
        Returns a handle for off(). The ring is read from the moment of this call."""
        if topic not in TOPICS:
            raise ValueError("unknown topic %r (one of %s)" % (topic, ", ".join(TOPICS)))
        syms = None if not symbols else {self.inst.symbol_id(s) for s in symbols}
        iv = None
        if interval is not None:
            from .instance import _interval
            iv = _interval(interval)
        s = _Sub(topic, syms, handler, iv, closed)
        if topic == "health":
            self._health.append(s)
            return s
        if self._loop is not None:
            raise RuntimeError("Bus.on: add topics before run()")
        t = _TOPIC_TYPE[topic]
        self._subs.setdefault(t, []).append(s)
        ring = _TYPE_RING[t]
        if ring not in self._rings:
            self._rings[ring] = self.inst.subscribe(ring, "now", self.batch)
        return s

    def off(self, handle):
        """Stops calling the handler `handle` (what on() returned) was registered with."""
        for lst in list(self._subs.values()) + [self._health]:
            if handle in lst:
                lst.remove(handle)

    def stream(self, topic, symbols=None, interval=None, closed=False, maxsize=10000):
        """An async iterator of (topic, key, rec) for `topic` and `symbols` (run() must be
        running). When the consumer falls `maxsize` behind, the oldest items are dropped and
        counted in the iterator's `dropped`."""
        q = _Queue(maxsize)
        self.on(topic, symbols, q.put, interval, closed)
        return q

    def _key(self, sym_id):
        if sym_id == 0xFFFFFFFF:
            return None
        k = self._keys.get(sym_id)
        if k is None:
            k = self._keys[sym_id] = self.inst.symbol(sym_id).key
        return k

    async def _call(self, s, topic, key, rec):
        r = s.fn(topic, key, rec)
        if inspect.isawaitable(r):
            await r

    async def _dispatch(self, b):
        self.lost += b.lost
        for rec in b:
            t = int(rec["h"]["type"])
            handlers = self._subs.get(t)
            if not handlers:
                continue
            sym = int(rec["h"]["symbol"])
            for s in handlers:
                if s.wants(rec, sym):
                    await self._call(s, s.topic, self._key(sym), rec)

    async def poll(self):
        """Reads every ring the topics need once, without waiting, and dispatches; returns the
        record count. For driving the bus by hand instead of run() (not while it runs)."""
        if self._loop is not None:
            raise RuntimeError("Bus.poll: run() is running")
        n = 0
        for sub in self._rings.values():
            b = sub.read()
            n += len(b)
            await self._dispatch(b)
        return n

    def _reader(self, sub, wanted, stop, room):
        """Thread body: waits on sub's doorbell, reads, hands batches to the loop."""
        loop, q = self._loop, self._queue
        try:
            while not stop.is_set():
                b = sub.read()
                if not len(b) and not b.lost:
                    sub.wait(_SLICE)
                    continue
                if not b.lost and not np.isin(b.types, wanted).any():
                    continue  # nothing any handler wants: the loop need not wake
                while not room.acquire(timeout=_SLICE):
                    if stop.is_set():
                        return
                loop.call_soon_threadsafe(q.put_nowait, (room, b))
        except BaseException as e:  # DaemonDead, Retired ...: run() raises it
            loop.call_soon_threadsafe(q.put_nowait, (None, e))

    async def run(self):
        """Dispatches until stop(); never blocks the event loop. Raises DaemonDead or Retired
        when the daemon dies or is replaced, and what a handler raised."""
        from .health import health
        if self._loop is not None:
            raise RuntimeError("Bus.run: already running")
        loop = self._loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue()
        self._stop = False
        stop = threading.Event()
        wanted = np.array(sorted(self._subs), np.uint16)
        threads = []
        for sub in self._rings.values():
            th = threading.Thread(target=self._reader, name="mdfeed-bus-" + sub.ring,
                                  args=(sub, wanted, stop, threading.Semaphore(
                                      self.max_pending)), daemon=True)
            th.start()
            threads.append(th)
        next_health = loop.time()
        prev = None
        try:
            while not self._stop:
                timeout = None
                if self._health:
                    timeout = max(0.0, next_health - loop.time())
                try:
                    item = await asyncio.wait_for(self._queue.get(), timeout)
                except asyncio.TimeoutError:
                    item = None
                if item is _STOP:
                    break
                if item is not None:
                    room, b = item
                    if room is None:
                        raise b
                    room.release()
                    await self._dispatch(b)
                if self._health and loop.time() >= next_health:
                    next_health = loop.time() + self.health_every
                    prev = await loop.run_in_executor(None, health, self.inst.name, prev)
                    for s in list(self._health):
                        await self._call(s, "health", None, prev)
        finally:
            stop.set()
            for th in threads:  # each returns within _SLICE
                await loop.run_in_executor(None, th.join)
            self._loop = self._queue = None

    def stop(self):
        """Makes run() return after the handler running now (safe from any thread)."""
        self._stop = True
        loop, q = self._loop, self._queue
        if loop is not None:
            loop.call_soon_threadsafe(q.put_nowait, _STOP)

    def close(self):
        """Closes the bus's subscriptions (after run() returned)."""
        for s in self._rings.values():
            s.close()
        self._rings = {}


class _Queue:
    def __init__(self, maxsize):
        self.q = asyncio.Queue()
        self.maxsize = maxsize
        self.dropped = 0

    def put(self, topic, key, rec):
        if self.q.qsize() >= self.maxsize:
            self.q.get_nowait()
            self.dropped += 1
        self.q.put_nowait((topic, key, rec))

    def __aiter__(self):
        return self

    async def __anext__(self):
        return await self.q.get()
