"""Test harness for the Python package: the fake venue and the daemon as child processes, with
their logs, on a config of the test's own instance (as tests/support/ does for C tests)."""
import os
import re
import select
import signal
import subprocess
import sys
import tempfile
import time

BIN = os.environ.get("MDFEED_TEST_BIN") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "bin")
INSTANCE = os.environ.get("MDFEED_TEST_INSTANCE") or "py%d" % os.getpid()


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


class Proc:
    """A child whose output (stdout or stderr) is read line by line."""

    def __init__(self, argv, stream="stdout"):
        kw = {"stdout": subprocess.PIPE} if stream == "stdout" else {"stderr": subprocess.PIPE}
        self.p = subprocess.Popen(argv, text=True, **kw)
        self.f = self.p.stdout if stream == "stdout" else self.p.stderr
        self.lines = []

    def wait_line(self, pattern, timeout):
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern)
        while True:
            for i, l in enumerate(self.lines):
                if rx.search(l):
                    del self.lines[: i + 1]
                    return l
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.f], [], [], left)
            if r:
                line = self.f.readline()
                if not line:
                    return None
                self.lines.append(line)

    def stop(self, sig=signal.SIGTERM):
        if self.p.poll() is None:
            try:
                self.p.send_signal(sig)
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        return self.p.returncode


def fakevenue(*args):
    """Starts mdfeed-fakevenue on a free port; returns (proc, port)."""
    p = Proc([os.path.join(BIN, "mdfeed-fakevenue"), "--port", "0"] + list(args))
    line = p.wait_line("listening", 10)
    check(line is not None, "fake venue did not start")
    port = int(line.split()[-1])
    return p, port


class Daemon:
    """mdfeedd on a config (text after the instance line) in a temporary file."""

    def __init__(self, conf_text):
        fd, self.conf = tempfile.mkstemp(prefix="mdfpy", suffix=".conf")
        with os.fdopen(fd, "w") as f:
            f.write('instance = "%s";\n' % INSTANCE + conf_text)
        self.proc = None

    def start(self):
        self.proc = Proc([os.path.join(BIN, "mdfeedd"), "-c", self.conf], "stderr")
        if self.proc.wait_line("running:", 15) is None:
            fail("daemon did not start: " + "".join(self.proc.lines))

    def stop(self, sig=signal.SIGTERM):
        rc = self.proc.stop(sig) if self.proc else None
        return rc

    def cleanup(self):
        self.stop()
        try:
            os.unlink(self.conf)
        except OSError:
            pass
        for name in os.listdir("/dev/shm"):
            if name.startswith("mdfeed.%s." % INSTANCE):
                try:
                    os.unlink(os.path.join("/dev/shm", name))
                except OSError:
                    pass


def spot_streams(sym):
    """Every stream type of a Binance spot symbol (as tests/e2e/truth_test.c lists them)."""
    kinds = ['type = "agg_trade";', 'type = "trade";', 'type = "kline"; interval = "1s";',
             'type = "kline"; interval = "1m";', 'type = "depth"; levels = 5;',
             'type = "diff_depth"; speed = 100;', 'type = "book_ticker";', 'type = "ticker";',
             'type = "mini_ticker";']
    return ",\n".join('    { symbol = "%s"; %s }' % (sym, k) for k in kinds)


def futures_streams(sym):
    kinds = ['type = "agg_trade";', 'type = "kline"; interval = "1s";',
             'type = "depth"; levels = 5;', 'type = "book_ticker";', 'type = "ticker";',
             'type = "mark_price"; speed = 1000;', 'type = "force_order";']
    return ",\n".join('    { symbol = "%s"; %s }' % (sym, k) for k in kinds)


def venue_conf(venue, port, streams, extra=""):
    """A Binance venue entry. No candle warm-up: these tests compare the candle history with
    what the rings delivered while they ran (the warm-up has tests of its own, e2e/warmup)."""
    return ('{ venue = "%s"; url = "ws://127.0.0.1:%d"; rest_url = "http://127.0.0.1:%d";\n'
            '  candle_warmup = false;\n%s  streams = (\n%s\n  ); }'
            % (venue, port, port, extra, streams))
