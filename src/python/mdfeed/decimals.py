"""Exact decimals: every price and quantity is a (mantissa, exponent) pair, value = m * 10**e.

Record arrays keep both (field['m'], field['e']); these helpers turn them into float64 columns
(for arithmetic and plotting) or into decimal.Decimal / text (for exact work), and never round
unless asked for floats.
"""
import decimal as _decimal

import numpy as np

_POW10 = 10.0 ** np.arange(0, 65)


def to_float(dec):
    """float64 value(s) of a decimal field: a structured scalar or array with fields m and e.

    Correctly rounded when |m| < 2**53 and |e| <= 22 (every venue price and quantity seen so
    far); otherwise within an ulp or two."""
    m = np.asarray(dec["m"], dtype=np.float64)
    e = np.asarray(dec["e"], dtype=np.int64)
    e = np.clip(e, -64, 64)
    out = np.where(e < 0, m / _POW10[np.abs(e)], m * _POW10[np.abs(e)])
    return out if out.ndim else float(out)


def to_decimal(dec):
    """decimal.Decimal of one decimal (a structured scalar with m and e, or an (m, e) pair),
    exactly: Decimal('0.01000000') keeps its trailing zeros as the venue sent them."""
    m, e = (dec["m"], dec["e"]) if not isinstance(dec, tuple) else dec
    m, e = int(m), int(e)
    return _decimal.Decimal((1 if m < 0 else 0, tuple(int(c) for c in str(abs(m))), e))


def to_decimals(field):
    """A list (or object array) of Decimal for a decimal column."""
    ms, es = np.asarray(field["m"]).tolist(), np.asarray(field["e"]).tolist()
    return np.array([to_decimal((m, e)) for m, e in zip(ms, es)], dtype=object)


def to_str(dec):
    """Plain decimal text, exactly as mdf_dec_format and mdfeed-cat write it ("-12.3400",
    "500", "0.00000100"); None for an exponent outside -64..64."""
    m, e = (dec["m"], dec["e"]) if not isinstance(dec, tuple) else dec
    m, e = int(m), int(e)
    if e < -64 or e > 64:
        return None
    digits = str(abs(m))
    if e >= 0:
        s = digits + ("0" * e if m else "")
    elif len(digits) > -e:
        s = digits[:e] + "." + digits[e:]
    else:
        s = "0." + "0" * (-e - len(digits)) + digits
    return "-" + s if m < 0 else s


def from_str(s):
    """(m, e) of decimal text, exactly (for comparisons and tests)."""
    t = _decimal.Decimal(s).as_tuple()
    m = int("".join(map(str, t.digits)) or "0")
    return (-m if t.sign else m, t.exponent)
