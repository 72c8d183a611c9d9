"""A topic view for strategies written against an asyncio message bus.

    bus = mdfeed.topics.Bus(md)
    bus.on("candles", ["binance-spot:BTCUSDT"], on_candle, interval="1m", closed=True)
    bus.on("books", ["binance-spot:BTCUSDT"], on_book)
    async for topic, key, rec in bus.stream("tickers", ["binance-spot:ETHUSDT"]):
        ...
    await bus.run()          # or asyncio.create_task(bus.run())

Topics: "trades", "bbo", "tickers", "liquidations" (ring ticks), "candles", "books", "funding",
"events", and "health" (a health snapshot dict every `health_every` seconds). A handler is
called as handler(topic, key, rec) with `key` the symbol's "venue:SYMBOL" (None for events and
health) and `rec` a numpy structured scalar (mdfeed.to_dict(rec) for a dict); coroutine
functions are awaited in order. Symbols: None or [] means every symbol. The bus reads each ring
it needs from "now", without blocking the event loop: it polls while records flow and backs off
up to `idle` seconds when none do. Records lost to laps are counted in `bus.lost`.
"""
import asyncio
import inspect

from . import dtypes as D

_TOPIC_TYPE = {"trades": D.TRADE, "bbo": D.BBO, "tickers": D.TICKER,
               "liquidations": D.LIQUIDATION, "candles": D.CANDLE, "books": D.BOOK,
               "funding": D.FUNDING, "events": D.EVENT}
_TYPE_RING = {D.TRADE: "ticks", D.BBO: "ticks", D.TICKER: "ticks", D.LIQUIDATION: "ticks",
              D.CANDLE: "candles", D.BOOK: "books", D.FUNDING: "funding", D.EVENT: "events"}
TOPICS = tuple(_TOPIC_TYPE) + ("health",)


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
    """Topics over one open Instance; see the module documentation."""

    def __init__(self, inst, idle=0.005, health_every=1.0, batch=4096):
        self.inst = inst
        self.idle = idle
        self.health_every = health_every
        self.batch = batch
        self.lost = 0
        self._subs = {}       # record type -> [_Sub]
        self._health = []     # [_Sub]
        self._rings = {}      # ring name -> Subscription
        self._keys = {}
        self._stop = False

    def on(self, topic, symbols, handler, interval=None, closed=False):
        """Calls handler(topic, key, rec) for every record of `topic` for `symbols` (None:
        all). Candles: `interval` ("1m", ...) and closed=True (only final candles) filter."""
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
        t = _TOPIC_TYPE[topic]
        self._subs.setdefault(t, []).append(s)
        ring = _TYPE_RING[t]
        if ring not in self._rings:
            self._rings[ring] = self.inst.subscribe(ring, "now", self.batch)
        return s

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

    async def poll(self):
        """Reads every ring the topics need once and dispatches; returns the record count."""
        n = 0
        for sub in self._rings.values():
            b = sub.read()
            self.lost += b.lost
            n += len(b)
            for rec in b:
                t = int(rec["h"]["type"])
                handlers = self._subs.get(t)
                if not handlers:
                    continue
                sym = int(rec["h"]["symbol"])
                for s in handlers:
                    if s.wants(rec, sym):
                        await self._call(s, s.topic, self._key(sym), rec)
        return n

    async def run(self):
        """Dispatches until stop(); never blocks the event loop."""
        from .health import health
        loop = asyncio.get_running_loop()
        next_health = loop.time()
        delay = 0.0
        self._stop = False
        while not self._stop:
            n = await self.poll()
            if self._health and loop.time() >= next_health:
                next_health = loop.time() + self.health_every
                snap = health(self.inst.name)
                for s in self._health:
                    await self._call(s, "health", None, snap)
            delay = 0.0 if n else min(self.idle, delay * 2 or 0.0005)
            await asyncio.sleep(delay)

    def stop(self):
        """Makes run() return after its current pass."""
        self._stop = True

    def close(self):
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
