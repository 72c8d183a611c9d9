"""Exceptions: every libmdfeed error code maps to one, with the library's message."""
import errno as _errno

from ._lib import lib, text

ESYNTAX, EBADSEG, EVERSION, ENOTREADY, EDEAD = -1001, -1002, -1003, -1004, -1005
ERETIRED, ESQUAT, ELIVE, ECONTENDED, ENODATA, ETRUNC = -1006, -1007, -1008, -1009, -1010, -1011


class MdfeedError(Exception):
    """A libmdfeed call failed. `code` is the negative C code (a negated errno value or one of
    enum mdf_error), `message` the library's text for it."""

    def __init__(self, code, message=None):
        self.code = code
        self.message = message or text(lib.mdf_strerror(code))
        super().__init__(self.message)


class NotFound(MdfeedError, KeyError):
    """No such instance, symbol, stream or series (-ENOENT)."""

    def __str__(self):
        return self.message


class DaemonDead(MdfeedError):
    """The daemon died: its process is gone, or its heartbeat stopped for longer than the
    liveness bound (MDF_EDEAD). Readers notice a killed daemon within about 100 ms."""


class Retired(MdfeedError):
    """The daemon replaced the segments (MDF_ERETIRED): close and open the instance again."""


class Timeout(MdfeedError, TimeoutError):
    """An open that waits for the instance did not see it in time (-ETIMEDOUT)."""


class Contended(MdfeedError):
    """A latest-state entry kept changing while read (MDF_ECONTENDED); try again."""


_BY_CODE = {-_errno.ENOENT: NotFound, EDEAD: DaemonDead, ERETIRED: Retired,
            -_errno.ETIMEDOUT: Timeout, ECONTENDED: Contended}


def error(code):
    """The exception for negative code `code`, with the calling thread's last message."""
    msg = text(lib.mdf_errmsg()) or text(lib.mdf_strerror(code))
    return _BY_CODE.get(code, MdfeedError)(code, msg)


def check(rc):
    """Returns rc if it is >= 0, else raises its exception."""
    if rc < 0:
        raise error(rc)
    return rc
