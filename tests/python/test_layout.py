"""The package's record layout equals the C compiler's: every field offset and every struct
size of include/mdfeed/*.h, and the numpy dtypes' itemsizes equal mdf_rec_type_size()."""
import ctypes
import decimal
import os
import random
import subprocess
import sys
import tempfile

import harness
import mdfeed
from mdfeed import _layout as L
from mdfeed import dtypes as D
from mdfeed._lib import lib

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def main():
    lines = ["#include <stdio.h>", "#include <stddef.h>", "#include <mdfeed/mdfeed.h>",
             "int main(void) {"]
    want = []
    for cname, st in L.C_STRUCTS.items():
        lines.append('printf("%%zu\\n", sizeof(struct %s));' % cname)
        want.append(("sizeof %s" % cname, ctypes.sizeof(st)))
        for fname, _ in st._fields_:
            lines.append('printf("%%zu\\n", offsetof(struct %s, %s));' % (cname, fname))
            want.append(("%s.%s" % (cname, fname), getattr(st, fname).offset))
    lines.append('printf("%zu\\n", offsetof(struct mdf_book, levels));')
    want.append(("mdf_book.levels", ctypes.sizeof(L.BookHead)))
    lines.append("return 0; }")
    with tempfile.TemporaryDirectory() as d:
        src, exe = os.path.join(d, "off.c"), os.path.join(d, "off")
        with open(src, "w") as f:
            f.write("\n".join(lines))
        subprocess.run(["cc", "-std=gnu11", "-I" + os.path.join(ROOT, "include"), src, "-o",
                        exe], check=True)
        got = subprocess.run([exe], check=True, capture_output=True, text=True).stdout.split()
    harness.check(len(got) == len(want), "offset table length")
    bad = ["%s: C %s, Python %d" % (n, g, w) for (n, w), g in zip(want, got) if int(g) != w]
    harness.check(not bad, "layout differs: " + "; ".join(bad))
    # dtypes against the library's own size table, books at several depths.
    for t in D.TYPE_NAMES:
        for depth in (5, 20, 100):
            dt = D.record_dtype(t, depth)
            harness.check(dt.itemsize == lib.mdf_rec_type_size(t, depth),
                          "%s itemsize %d != %d" % (D.TYPE_NAMES[t], dt.itemsize,
                                                    lib.mdf_rec_type_size(t, depth)))
    # Decimal text as the C formatter writes it.
    rnd = random.Random(7)
    buf = ctypes.create_string_buffer(96)
    fmt = lib.mdf_dec_format
    fmt.argtypes = [L.Dec, ctypes.c_char_p, ctypes.c_size_t]
    for _ in range(20000):
        m = rnd.choice([0, 1, -1, rnd.randrange(-2**63, 2**63), rnd.randrange(-10**6, 10**6)])
        e = rnd.randrange(-70, 71)
        rc = fmt(L.Dec(m, e, 0), buf, 96)
        py = mdfeed.to_str((m, e))
        harness.check((py is None) == (rc < 0) and (py is None or py == buf.value.decode()),
                      "to_str(%d, %d) = %r, C %r" % (m, e, py, buf.value))
        if py is not None:
            harness.check(decimal.Decimal(py) == mdfeed.to_decimal((m, e)),
                          "to_decimal(%d, %d) != %s" % (m, e, py))
            if e <= 0:
                harness.check(mdfeed.from_str(py) == (m, e), "from_str(%s)" % py)
    print("layout: %d offsets and sizes equal" % len(want))


if __name__ == "__main__":
    main()
    sys.exit(0)
