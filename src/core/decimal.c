/*
 * Exact decimals: venue text <-> struct mdf_dec (value = m * 10^e, e in -64..64).
 *
 * Design: the parser is the daemon's hot path (every price and quantity goes through it), so it
 * is one pass over (s, len) with no floating point, no locale, no allocation and no NUL needed.
 * It folds at most 19 significant digits into an unsigned 64-bit accumulator, which can never
 * wrap (10^19 < 2^64), and afterwards only counts the zeros it could not fold. A value is refused
 * with -ERANGE exactly when no int64 mantissa and in-range exponent represents it; it is never
 * rounded. Trailing zeros stay in the mantissa whenever they fit, so the text formats back
 * unchanged ("0.01000000" -> m=1000000, e=-8).
 *
 * Accepted syntax: [+-] digits [. digits] [(e|E) [+-] digits], with at least one mantissa digit
 * before or after the point, so "5." and ".5" are accepted: JSON never sends them, but venues'
 * string fields might, and they are unambiguous. No spaces, hex, "inf" or "nan". Zero loses its
 * sign ("-0" -> m=0) and keeps its exponent clamped to -64..64 ("0e99" -> m=0, e=64).
 *
 * The reader-side helpers (to_double, cmp) are exact too: to_double is correctly rounded (an
 * exact fast path, else glibc's strtod on a radix-free "<m>e<e>" text, so no locale matters),
 * and cmp compares by digit positions so no product can overflow.
 */
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mdfeed/mdfeed.h>

#define DEC_E_MIN (-64) /* smallest exponent struct mdf_dec may hold */
#define DEC_E_MAX 64    /* largest exponent struct mdf_dec may hold */
#define DEC_SIG_MAX 19  /* significant digits the accumulator takes: 10^19 - 1 < 2^64 */
#define EXP_SAT INT64_C(100000000000000000) /* the exponent field stops growing here */

/* Exact powers of ten that fit in 64 bits: 10^0 .. 10^19. */
static const uint64_t pow10_u64[20] = {
    UINT64_C(1),
    UINT64_C(10),
    UINT64_C(100),
    UINT64_C(1000),
    UINT64_C(10000),
    UINT64_C(100000),
    UINT64_C(1000000),
    UINT64_C(10000000),
    UINT64_C(100000000),
    UINT64_C(1000000000),
    UINT64_C(10000000000),
    UINT64_C(100000000000),
    UINT64_C(1000000000000),
    UINT64_C(10000000000000),
    UINT64_C(100000000000000),
    UINT64_C(1000000000000000),
    UINT64_C(10000000000000000),
    UINT64_C(100000000000000000),
    UINT64_C(1000000000000000000),
    UINT64_C(10000000000000000000),
};

/* Powers of ten that doubles hold exactly: 10^0 .. 10^22 (5^22 < 2^53). */
static const double pow10_dbl[23] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

/* |m| as an unsigned number; exact for INT64_MIN. Cannot fail. */
static inline uint64_t magnitude(int64_t m)
{
    return m < 0 ? UINT64_C(0) - (uint64_t)m : (uint64_t)m;
}

/* Number of decimal digits of u (1 for 0). Cannot fail. */
static inline int count_digits(uint64_t u)
{
    int n = 1;

    while (n < 20 && u >= pow10_u64[n])
        n++;
    return n;
}

/* Folds the digits at *pp (up to end) into *m as described in the file comment: the first 19
 * significant digits go into *m, later zeros are counted in *dropped, a later non-zero digit sets
 * *lost. Advances *pp past the digits. Cannot fail. */
static inline void scan_digits(const unsigned char **pp, const unsigned char *end, uint64_t *m,
                               int *nsig, uint64_t *dropped, bool *lost)
{
    const unsigned char *p = *pp;
    uint64_t acc = *m;
    int n = *nsig;

    for (; p < end; p++) {
        unsigned d = (unsigned)*p - '0';

        if (d > 9)
            break;
        if (n < DEC_SIG_MAX) {
            acc = acc * 10 + d;
            n += acc != 0; /* leading zeros are not significant */
        } else if (d) {
            *lost = true;
        } else {
            (*dropped)++;
        }
    }
    *pp = p;
    *m = acc;
    *nsig = n;
}

/* Parses s[0..len) into *out (see mdfeed.h). Writes *out only on success. Fails with -EINVAL
 * (s or out NULL), MDF_ESYNTAX (not decimal text; checked before range) or -ERANGE (no int64
 * mantissa with an exponent in -64..64 holds the value exactly). Linear in len. */
MDF_API int mdf_dec_parse(const char *s, size_t len, mdf_dec_t *out)
{
    const unsigned char *p, *end, *digits;
    uint64_t m = 0, lim, dropped = 0, frac = 0;
    int64_t ex = 0;
    __int128 e;
    bool neg = false, lost = false;
    int nsig = 0;

    if (!s || !out)
        return -EINVAL;
    /* Fast path for what venues send ("0.35130000", "-12", "6195.00000000"): an optional minus,
     * at most 18 digits (always within int64) and at most one point. Anything else, or an odd
     * form, takes the general path below, which gives the same result for these. */
    if (len && len <= 19) {
        const unsigned char *q = (const unsigned char *)s, *qe = q + len;
        uint64_t v = 0;
        int fr = -1, nd = 0;
        bool ng = *q == '-';

        for (q += ng; q < qe; q++) {
            unsigned c = (unsigned)*q - '0';

            if (c <= 9) {
                v = v * 10 + c;
                nd++;
                fr += fr >= 0;
            } else if (*q == '.' && fr < 0) {
                fr = 0;
            } else {
                break;
            }
        }
        if (q == qe && nd > 0 && nd <= 18) {
            out->m = ng ? -(int64_t)v : (int64_t)v;
            out->e = fr > 0 ? -fr : 0;
            out->_r = 0;
            return 0;
        }
    }
    p = (const unsigned char *)s;
    end = p + len;
    if (p < end && (*p == '-' || *p == '+'))
        neg = *p++ == '-';
    digits = p;
    scan_digits(&p, end, &m, &nsig, &dropped, &lost);
    if (p < end && *p == '.') {
        const unsigned char *f = ++p;

        scan_digits(&p, end, &m, &nsig, &dropped, &lost);
        frac = (uint64_t)(p - f);
        if (p - digits == 1)
            return MDF_ESYNTAX; /* "." alone: no digit on either side */
    } else if (p == digits) {
        return MDF_ESYNTAX;
    }
    if (p < end && (*p | 0x20) == 'e') {
        const unsigned char *x;
        bool eneg = false;

        if (++p < end && (*p == '-' || *p == '+'))
            eneg = *p++ == '-';
        for (x = p; p < end && (unsigned)*p - '0' <= 9; p++)
            if (ex < EXP_SAT) /* saturate: anything this big is out of range anyway */
                ex = ex * 10 + (*p - '0');
        if (p == x)
            return MDF_ESYNTAX;
        if (eneg)
            ex = -ex;
    }
    if (p != end)
        return MDF_ESYNTAX;
    if (lost)
        return -ERANGE; /* a non-zero digit beyond the 19th significant one */

    /* Exact exponent: 128 bits because frac and dropped are bounded only by len. */
    e = (__int128)ex + (__int128)dropped - (__int128)frac;
    lim = neg ? UINT64_C(1) << 63 : (uint64_t)INT64_MAX;
    if (m > lim) {
        /* 19 digits above the int64 range: a trailing zero can still go to the exponent. */
        if (m % 10)
            return -ERANGE;
        m /= 10;
        e++;
    }
    if (m == 0) {
        /* Zero is zero at any exponent: keep the text's, clamped to the range. */
        if (e < DEC_E_MIN)
            e = DEC_E_MIN;
        else if (e > DEC_E_MAX)
            e = DEC_E_MAX;
    } else {
        while (e > DEC_E_MAX && m <= lim / 10) {
            m *= 10;
            e--;
        }
        while (e < DEC_E_MIN && m % 10 == 0) {
            m /= 10;
            e++;
        }
        if (e < DEC_E_MIN || e > DEC_E_MAX)
            return -ERANGE;
    }
    out->m = neg && m ? -(int64_t)(m - 1) - 1 : (int64_t)m;
    out->e = (int32_t)e;
    out->_r = 0;
    return 0;
}

/* Writes d as plain decimal text into buf[0..len) (see mdfeed.h). Fails with MDF_ETRUNC (len too
 * small: buf gets "" if len > 0) or -ERANGE (d.e outside -64..64: buf gets "" if len > 0). */
MDF_API int mdf_dec_format(mdf_dec_t d, char *buf, size_t len)
{
    char dig[20];
    uint64_t u = magnitude(d.m);
    size_t nd = 0, n, f;
    char *p = buf;
    const char *ds;

    if (d.e < DEC_E_MIN || d.e > DEC_E_MAX) {
        if (buf && len)
            buf[0] = '\0';
        return -ERANGE;
    }
    do {
        dig[sizeof(dig) - ++nd] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    ds = dig + sizeof(dig) - nd;
    f = d.e < 0 ? (size_t)-d.e : 0; /* digits after the point */
    n = (d.m < 0) + (d.e >= 0 ? nd + (d.m ? (size_t)d.e : 0) : (nd > f ? nd : f + 1) + 1);
    if (!buf || n >= len) {
        if (buf && len)
            buf[0] = '\0';
        return MDF_ETRUNC;
    }
    if (d.m < 0)
        *p++ = '-';
    if (d.e >= 0) {
        memcpy(p, ds, nd);
        p += nd;
        if (d.m) { /* zero prints as "0", not "000" */
            memset(p, '0', (size_t)d.e);
            p += d.e;
        }
    } else if (nd > f) {
        memcpy(p, ds, nd - f);
        p += nd - f;
        *p++ = '.';
        memcpy(p, ds + nd - f, f);
        p += f;
    } else {
        *p++ = '0';
        *p++ = '.';
        memset(p, '0', f - nd);
        p += f - nd;
        memcpy(p, ds, nd);
        p += nd;
    }
    *p = '\0';
    return (int)n;
}

/* Nearest double to d, ties to even (see mdfeed.h); any exponent works. Cannot fail: values
 * beyond the double range give +-HUGE_VAL or a signed zero, as strtod does. */
MDF_API double mdf_dec_to_double(mdf_dec_t d)
{
    char text[48];

#if FLT_EVAL_METHOD == 0
    /* Clinger's fast path: both operands are exact doubles, so the one IEEE operation rounds the
     * exact value once. Needs operations evaluated in double itself (not x87 extended). */
    if (d.m > -(INT64_C(1) << 53) && d.m < (INT64_C(1) << 53) && d.e >= -22 && d.e <= 22)
        return d.e >= 0 ? (double)d.m * pow10_dbl[d.e] : (double)d.m / pow10_dbl[-d.e];
#endif
    /* glibc's strtod is correctly rounded; the text has no radix character, so the locale does
     * not matter. */
    snprintf(text, sizeof(text), "%" PRId64 "e%" PRId32, d.m, d.e);
    return strtod(text, NULL);
}

/* Compares the values of a and b exactly (see mdfeed.h): -1, 0 or 1, for any exponents. Cannot
 * fail. */
MDF_API int mdf_dec_cmp(mdf_dec_t a, mdf_dec_t b)
{
    int sa = (a.m > 0) - (a.m < 0), sb = (b.m > 0) - (b.m < 0), r;
    uint64_t ua, ub;
    int64_t la, lb;

    if (sa != sb)
        return sa < sb ? -1 : 1;
    if (sa == 0)
        return 0;
    ua = magnitude(a.m);
    ub = magnitude(b.m);
    /* Position of the leading digit: the value with the higher one is larger in magnitude. */
    la = count_digits(ua) + (int64_t)a.e;
    lb = count_digits(ub) + (int64_t)b.e;
    if (la != lb) {
        r = la < lb ? -1 : 1;
    } else {
        /* Same leading position: scaling the one with the larger exponent down to the other's
         * gives it as many digits as the other has (at most 19), so it fits in 64 bits. */
        if (a.e > b.e)
            ua *= pow10_u64[a.e - b.e];
        else
            ub *= pow10_u64[b.e - a.e];
        r = (ua > ub) - (ua < ub);
    }
    return sa > 0 ? r : -r;
}
