/*
 * Tests of the exact decimals (src/core/decimal.c): text round trips, the venues' number forms,
 * overflow without rounding, malformed text, correctly rounded doubles, exact comparison and
 * short output buffers.
 *
 * Design: every oracle is independent of the code under test: canonical text is built with
 * printf, syntax and exact values come from a plain reference scanner with 128-bit arithmetic,
 * doubles come from glibc's strtod and orders from __int128 or long double.
 */
#include <errno.h>
#include <math.h>

#include <mdfeed/mdfeed.h>

#include "test.h"

#define LIM_POS ((uint64_t)INT64_MAX) /* largest positive mantissa magnitude */
#define LIM_NEG (UINT64_C(1) << 63)   /* largest negative mantissa magnitude (INT64_MIN) */

/* Builds a struct mdf_dec. */
static mdf_dec_t dec(int64_t m, int32_t e)
{
    return (mdf_dec_t){.m = m, .e = e, ._r = 0};
}

/* 10^k as a 128-bit integer, k <= 38. */
static __int128 p10_128(int k)
{
    __int128 r = 1;

    while (k-- > 0)
        r *= 10;
    return r;
}

/* mdf_dec_parse on a NUL-terminated string. */
static int parse_str(const char *s, mdf_dec_t *out)
{
    return mdf_dec_parse(s, strlen(s), out);
}

/* Asserts that s parses to exactly (m, e) and formats back as text. */
#define CHECK_PARSE(s, m, e, text) check_parse(__LINE__, s, m, e, text)
static void check_parse(int line, const char *s, int64_t m, int32_t e, const char *text)
{
    mdf_dec_t d = dec(77, 77);
    char buf[MDF_DEC_STR_MAX];
    int rc = parse_str(s, &d);

    if (rc != 0)
        test_fail(__FILE__, line, "parse \"%s\": rc %d", s, rc);
    if (d.m != m || d.e != e || d._r != 0)
        test_fail(__FILE__, line, "parse \"%s\": m=%" PRId64 " e=%d, want m=%" PRId64 " e=%d", s,
                  d.m, d.e, m, e);
    rc = mdf_dec_format(d, buf, sizeof(buf));
    if (rc != (int)strlen(text) || strcmp(buf, text) != 0)
        test_fail(__FILE__, line, "format \"%s\": %d \"%s\", want \"%s\"", s, rc, buf, text);
}

/* Asserts that s fails to parse with rc and leaves the output untouched. */
#define CHECK_FAIL(s, len, rc) check_fail(__LINE__, s, len, rc)
static void check_fail(int line, const char *s, size_t len, int want)
{
    mdf_dec_t d = dec(77, 77);
    int rc = mdf_dec_parse(s, len, &d);

    if (rc != want)
        test_fail(__FILE__, line, "parse \"%.*s\" (len %zu): rc %d, want %d", (int)len, s, len, rc,
                  want);
    if (d.m != 77 || d.e != 77)
        test_fail(__FILE__, line, "parse \"%.*s\" wrote its output on failure", (int)len, s);
}

/* A random magnitude with exactly nd digits (1..19), at most lim; 19 digits are in [10^18, lim]. */
static uint64_t rand_mag(struct test_rng *r, int nd, uint64_t lim)
{
    uint64_t lo = 1, hi;

    for (int i = 1; i < nd; i++)
        lo *= 10;
    hi = nd == 19 ? lim : lo * 10 - 1;
    return lo + test_rng_below(r, hi - lo + 1);
}

/* A random mantissa: a digit count chosen uniformly, sometimes with forced trailing zeros,
 * sometimes the int64 extremes or zero. */
static int64_t rand_mantissa(struct test_rng *r)
{
    bool neg = test_rng_next(r) & 1;
    uint64_t lim = neg ? LIM_NEG : LIM_POS, mag;
    int kind = (int)test_rng_below(r, 32);

    if (kind == 0)
        return neg ? INT64_MIN : INT64_MAX;
    if (kind == 1)
        mag = lim - test_rng_below(r, 1000);
    else if (kind == 2)
        mag = 0;
    else
        mag = rand_mag(r, 1 + (int)test_rng_below(r, 19), lim);
    if (kind >= 24 && mag >= 10) { /* trailing zeros */
        uint64_t p = 1;

        for (int k = 1 + (int)test_rng_below(r, 18); k > 0 && p * 10 <= mag / 10; k--)
            p *= 10;
        mag = mag / p * p;
    }
    return neg ? (int64_t)(0 - mag) : (int64_t)mag;
}

/* Writes the canonical text of m * 10^-f (f >= 0) with printf alone: the digits of |m| padded
 * with zeros to f + 1, and a point before the last f. Returns the length. */
static size_t canon_text(char *buf, int64_t m, int f)
{
    char digits[96];
    uint64_t mag = m < 0 ? 0 - (uint64_t)m : (uint64_t)m;
    int n = snprintf(digits, sizeof(digits), "%0*" PRIu64, f + 1, mag);
    char *p = buf;

    if (m < 0)
        *p++ = '-';
    memcpy(p, digits, (size_t)(n - f));
    p += n - f;
    if (f > 0) {
        *p++ = '.';
        memcpy(p, digits + n - f, (size_t)f);
        p += f;
    }
    *p = '\0';
    return (size_t)(p - buf);
}

TEST(decimal_roundtrips_a_million_random_strings)
{
    struct test_rng r;
    char text[MDF_DEC_STR_MAX], out[MDF_DEC_STR_MAX];
    mdf_dec_t d, d2;

    test_rng_init(&r, test_seed());
    /* Canonical strings: parse keeps every digit (e = -digits after the point) and format gives
     * the same text back. */
    for (int i = 0; i < 1000000; i++) {
        int64_t m = rand_mantissa(&r);
        int f = (i & 63) == 0 ? (int)test_rng_below(&r, 65) : (int)test_rng_below(&r, 19);
        size_t n = canon_text(text, m, f);
        int rc = mdf_dec_parse(text, n, &d);

        if (rc != 0 || d.m != m || d.e != -f)
            test_fail(__FILE__, __LINE__, "parse \"%s\": rc %d m=%" PRId64 " e=%d", text, rc, d.m,
                      d.e);
        rc = mdf_dec_format(d, out, sizeof(out));
        if (rc != (int)n || strcmp(out, text) != 0)
            test_fail(__FILE__, __LINE__, "format \"%s\": %d \"%s\"", text, rc, out);
        ASSERT_EQ(mdf_dec_parse(out, (size_t)rc, &d2), 0);
        ASSERT(d2.m == d.m && d2.e == d.e);
    }
    /* Structs: parse(format(x)) == x field for field when e <= 0. With e > 0 format writes the
     * zeros out, and parse keeps as many of them in the mantissa as fit: same value. */
    for (int i = 0; i < 200000; i++) {
        mdf_dec_t x = dec(rand_mantissa(&r), (int32_t)test_rng_below(&r, 129) - 64);
        int rc = mdf_dec_format(x, out, sizeof(out));

        ASSERT_GT(rc, 0);
        ASSERT_EQ(mdf_dec_parse(out, (size_t)rc, &d), 0);
        if (x.e <= 0 || x.m == 0) {
            int32_t want_e = x.m == 0 && x.e > 0 ? 0 : x.e; /* zero formats as "0" */

            if (d.m != x.m || d.e != want_e)
                test_fail(__FILE__, __LINE__, "\"%s\": m=%" PRId64 " e=%d, want %" PRId64 " %d",
                          out, d.m, d.e, x.m, want_e);
        } else {
            int k = x.e - d.e;

            ASSERT(k >= 0 && k <= 18);
            ASSERT((__int128)d.m == (__int128)x.m * p10_128(k));
            ASSERT(d.e == 0 || d.m > INT64_MAX / 10 || d.m < INT64_MIN / 10);
        }
    }
    return 0;
}

TEST(decimal_parses_every_venue_form)
{
    /* Binance / OKX / Kraken / Coinbase strings: trailing zeros are part of the text. */
    CHECK_PARSE("0.01000000", 1000000, -8, "0.01000000");
    CHECK_PARSE("29123.45000000", 2912345000000, -8, "29123.45000000");
    CHECK_PARSE("0.00000100", 100, -8, "0.00000100");
    CHECK_PARSE("67000.5", 670005, -1, "67000.5");
    CHECK_PARSE("0.1", 1, -1, "0.1");
    CHECK_PARSE("100", 100, 0, "100");
    CHECK_PARSE("0.00000000", 0, -8, "0.00000000");
    /* Bitfinex JSON numbers, and exponent forms in general. */
    CHECK_PARSE("1.5e-7", 15, -8, "0.00000015");
    CHECK_PARSE("2.5E+3", 25, 2, "2500");
    CHECK_PARSE("1e5", 1, 5, "100000");
    CHECK_PARSE("1E-8", 1, -8, "0.00000001");
    CHECK_PARSE("-1.23456789e+4", -123456789, -4, "-12345.6789");
    CHECK_PARSE("1.00e2", 100, 0, "100");
    CHECK_PARSE("-12", -12, 0, "-12");
    CHECK_PARSE("0", 0, 0, "0");
    CHECK_PARSE("0.0", 0, -1, "0.0");
    CHECK_PARSE("-0", 0, 0, "0");
    CHECK_PARSE("-0.000", 0, -3, "0.000");
    CHECK_PARSE("0E-8", 0, -8, "0.00000000"); /* Java BigDecimal's zero */
    CHECK_PARSE("-0.5", -5, -1, "-0.5");
    CHECK_PARSE("40000", 40000, 0, "40000");
    /* Leading zeros are skipped; '+' and a point with digits on one side only are accepted. */
    CHECK_PARSE("00012.3400", 123400, -4, "12.3400");
    CHECK_PARSE("+1.5", 15, -1, "1.5");
    CHECK_PARSE("5.", 5, 0, "5");
    CHECK_PARSE(".5", 5, -1, "0.5");
    CHECK_PARSE("-.5", -5, -1, "-0.5");
    CHECK_PARSE("1.e3", 1, 3, "1000");
    CHECK_PARSE("1e+0", 1, 0, "1");
    CHECK_PARSE("1e-0", 1, 0, "1");
    CHECK_PARSE("1e0007", 1, 7, "10000000");
    /* The exponent bounds. */
    CHECK_PARSE("1e64", 1, 64,
                "1"
                "0000000000000000000000000000000000000000000000000000000000000000");
    CHECK_PARSE("1e-64", 1, -64,
                "0.0000000000000000000000000000000000000000000000000000000000000001");
    CHECK_PARSE("-9.5E-63", -95, -64,
                "-0.0000000000000000000000000000000000000000000000000000000000000095");
    CHECK_PARSE("9223372036854775807e64", INT64_MAX, 64,
                "9223372036854775807"
                "0000000000000000000000000000000000000000000000000000000000000000");
    CHECK_PARSE("-9223372036854775808e-64", INT64_MIN, -64,
                "-0.0000000000000000000000000000000000000000000009223372036854775808");
    /* The exponent part and the point's position cancel. */
    CHECK_PARSE("0.00000000000000000000000000000000000000000000000000000000000000000000001e70", 1,
                -1, "0.1");
    return 0;
}

/* A string of n copies of c; new (free()). */
static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);

    ASSERT(s != NULL);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

TEST(decimal_reports_overflow_never_rounds)
{
    char buf[MDF_DEC_STR_MAX];
    int64_t t0;

    /* The int64 edges, both signs, with and without a point. */
    CHECK_PARSE("9223372036854775807", INT64_MAX, 0, "9223372036854775807");
    CHECK_FAIL("9223372036854775808", 19, -ERANGE);
    CHECK_PARSE("-9223372036854775808", INT64_MIN, 0, "-9223372036854775808");
    CHECK_FAIL("-9223372036854775809", 20, -ERANGE);
    CHECK_PARSE("922337203685477580.7", INT64_MAX, -1, "922337203685477580.7");
    CHECK_FAIL("922337203685477580.8", 20, -ERANGE);
    CHECK_PARSE("-0.000000000009223372036854775808", INT64_MIN, -30,
                "-0.000000000009223372036854775808");
    CHECK_FAIL("-0.000000000009223372036854775809", 33, -ERANGE);
    CHECK_FAIL("9999999999999999999", 19, -ERANGE);
    /* 20 digits: must not wrap a 64-bit accumulator (2^64 - 1, 2^64, 2^65). */
    CHECK_FAIL("18446744073709551615", 20, -ERANGE);
    CHECK_FAIL("18446744073709551616", 20, -ERANGE);
    CHECK_FAIL("36893488147419103232", 20, -ERANGE);
    CHECK_FAIL("12345678901234567890123", 23, -ERANGE);
    /* Never rounded: a non-zero digit past the 19th significant one is refused. */
    CHECK_FAIL("1.00000000000000000001", 22, -ERANGE);
    CHECK_FAIL("0.30000000000000000001", 22, -ERANGE);
    CHECK_FAIL("1000000000000000000.5", 21, -ERANGE);
    CHECK_FAIL("-9223372036854775808.1", 22, -ERANGE);
    CHECK_FAIL("9223372036854775807.0000000000000000000000000001", 48, -ERANGE);
    /* Rescued: trailing zeros that do not fit are dropped into the exponent, value exact. */
    CHECK_PARSE("9223372036854775807.000000", INT64_MAX, 0, "9223372036854775807");
    CHECK_PARSE("-9223372036854775808.0", INT64_MIN, 0, "-9223372036854775808");
    CHECK_PARSE("922337203685477580.70", INT64_MAX, -1, "922337203685477580.7");
    CHECK_PARSE("1.000000000000000000000000000000", INT64_C(1000000000000000000), -18,
                "1.000000000000000000");
    CHECK_PARSE("0.00000000000000000000000009223372036854775807000", INT64_MAX, -44,
                "0.00000000000000000000000009223372036854775807");
    /* Integer zeros too: the value is exact and the text formats back unchanged. */
    CHECK_PARSE("9223372036854775810", INT64_C(922337203685477581), 1, "9223372036854775810");
    CHECK_PARSE("92233720368547758070", INT64_MAX, 1, "92233720368547758070");
    CHECK_PARSE("-92233720368547758080", INT64_MIN, 1, "-92233720368547758080");
    CHECK_FAIL("92233720368547758080", 20, -ERANGE);
    CHECK_PARSE("1000000000000000000000000000000", INT64_C(1000000000000000000), 12,
                "1000000000000000000000000000000");
    /* Exponent range: -64..64, after moving zeros between mantissa and exponent if that fits. */
    CHECK_PARSE("1e65", 10, 64,
                "100000000000000000000000000000000000000000000000000000000000000000");
    CHECK_PARSE("1e82", INT64_C(1000000000000000000), 64,
                "1000000000000000000000000000000000000000000000000000000000000000000000000000"
                "0000000");
    CHECK_FAIL("1e83", 4, -ERANGE);
    CHECK_PARSE("9.2e82", INT64_C(9200000000000000000), 64,
                "9200000000000000000000000000000000000000000000000000000000000000000000000000"
                "0000000");
    CHECK_FAIL("9.3e82", 6, -ERANGE);
    CHECK_FAIL("1e-65", 5, -ERANGE);
    CHECK_FAIL("1.5e-64", 7, -ERANGE);
    CHECK_FAIL("12345e-69", 9, -ERANGE);
    CHECK_FAIL("0.00000000000000000000000000000000000000000000000000000000000000001", 67, -ERANGE);
    CHECK_PARSE("1.0e-64", 1, -64,
                "0.0000000000000000000000000000000000000000000000000000000000000001");
    CHECK_PARSE("100e-66", 1, -64,
                "0.0000000000000000000000000000000000000000000000000000000000000001");
    /* Exponent fields that overflow 32 and 64 bits must not wrap into range. */
    CHECK_FAIL("1e99999999999", 13, -ERANGE);
    CHECK_FAIL("1e-99999999999", 14, -ERANGE);
    CHECK_FAIL("1e4294967297", 12, -ERANGE);           /* 2^32 + 1 */
    CHECK_FAIL("1e9223372036854775809", 21, -ERANGE);  /* 2^63 + 1 */
    CHECK_FAIL("1e18446744073709551626", 22, -ERANGE); /* 2^64 + 10 */
    CHECK_FAIL("-1e-18446744073709551626", 24, -ERANGE);
    CHECK_FAIL("1e999999999999999999999999999999999999999", 41, -ERANGE);
    /* Zero is representable at any exponent: it keeps the nearest one in range. */
    CHECK_PARSE("0e99999999999", 0, 64, "0");
    CHECK_PARSE("-0.0e-70", 0, -64,
                "0.0000000000000000000000000000000000000000000000000000000000000000");
    /* format refuses a struct whose exponent is out of range rather than overrun the buffer. */
    ASSERT_EQ(mdf_dec_format(dec(1, 65), buf, sizeof(buf)), -ERANGE);
    ASSERT_STR_EQ(buf, "");
    ASSERT_EQ(mdf_dec_format(dec(1, -65), buf, sizeof(buf)), -ERANGE);
    ASSERT_EQ(mdf_dec_format(dec(1, INT32_MIN), buf, sizeof(buf)), -ERANGE);

    /* Very long inputs: linear time, exact bookkeeping of every digit counted. */
    t0 = test_now_ns();
    {
        const size_t n = 10 * 1000 * 1000;
        char *z = repeat('0', n + 64);
        mdf_dec_t d = dec(77, 77);

        /* "0.000...0001" with 10^7 zeros: out of range. */
        z[1] = '.';
        z[n + 2] = '1';
        z[n + 3] = '\0';
        CHECK_FAIL(z, n + 3, -ERANGE);
        /* ... times 10^(10^7 + 1) is exactly 1. */
        snprintf(z + n + 3, 32, "e%zu", n + 1);
        ASSERT_EQ(parse_str(z, &d), 0);
        ASSERT(d.m == 1 && d.e == 0);
        /* "1000...000e-10000000" is exactly 1 too: 10^18 * 10^-18 keeps 18 zeros. */
        memset(z, '0', n + 64);
        z[0] = '1';
        snprintf(z + n + 1, 32, "e-%zu", n);
        ASSERT_EQ(parse_str(z, &d), 0);
        ASSERT(d.m == INT64_C(1000000000000000000) && d.e == -18);
        /* 10^(10^7): out of range; and with a non-zero digit at the end: never rounded. */
        CHECK_FAIL(z, n + 1, -ERANGE);
        z[n] = '3';
        CHECK_FAIL(z, n + 1, -ERANGE);
        /* 10^7 leading zeros do not count. */
        memset(z, '0', n + 64);
        z[n] = '5';
        z[n + 1] = '\0';
        CHECK_PARSE(z, 5, 0, "5");
        free(z);
    }
    ASSERT_LT(test_now_ns() - t0, INT64_C(10000000000));
    return 0;
}

/* The reference reading of a text: plain code written for clarity, not speed. */
struct ref {
    bool syntax_ok; /* matches [+-] digits [. digits] [(e|E) [+-] digits], >= 1 mantissa digit */
    bool fits;      /* exactly representable with an int64 mantissa and e in -64..64 */
    bool neg;       /* a '-' sign */
    uint64_t sig;   /* significant digits (no leading or trailing zeros) when fits; 0 for zero */
    long long exp;  /* value = sig * 10^exp when fits */
};

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* Reads s[0..len) (short texts: at most 200 mantissa digits) the slow, obvious way. */
static struct ref ref_read(const unsigned char *s, size_t len)
{
    struct ref r = {0};
    char mant[256];
    size_t i = 0, nm = 0, nfrac = 0, nexp = 0, first, last;
    long long ex = 0, scale;
    bool eneg = false;
    __int128 v = 0;

    if (i < len && (s[i] == '+' || s[i] == '-'))
        r.neg = s[i++] == '-';
    for (; i < len && is_digit(s[i]); i++)
        mant[nm++] = (char)s[i];
    if (i < len && s[i] == '.')
        for (i++; i < len && is_digit(s[i]); i++, nfrac++)
            mant[nm++] = (char)s[i];
    if (nm == 0)
        return r;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            eneg = s[i++] == '-';
        for (; i < len && is_digit(s[i]); i++, nexp++)
            if (ex < 1000000000000LL)
                ex = ex * 10 + (s[i] - '0');
        if (nexp == 0)
            return r;
    }
    if (i != len)
        return r;
    r.syntax_ok = true;
    for (first = 0; first < nm && mant[first] == '0'; first++)
        ;
    if (first == nm) { /* zero */
        r.fits = true;
        return r;
    }
    for (last = nm; mant[last - 1] == '0'; last--)
        ;
    r.exp = (eneg ? -ex : ex) - (long long)nfrac + (long long)(nm - last);
    if (last - first > 19 || r.exp < -64)
        return r;
    for (size_t k = first; k < last; k++)
        v = v * 10 + (mant[k] - '0');
    r.sig = (uint64_t)v;
    /* The largest exponent <= 64 leaves the smallest mantissa: v * 10^(exp - that). */
    scale = r.exp > 64 ? r.exp - 64 : 0;
    if (scale > 19)
        return r;
    r.fits = v * p10_128((int)scale) <= (__int128)(r.neg ? LIM_NEG : LIM_POS);
    return r;
}

/* Parses s[0..len) and checks the outcome against the reference. The byte after the text is a
 * digit, so a parser reading past len gets a different value. Returns the parse result. */
static int check_against_ref(unsigned char *s, size_t len, mdf_dec_t *d)
{
    struct ref r = ref_read(s, len);
    char copy[300], out[MDF_DEC_STR_MAX];
    int rc;

    s[len] = '7';
    *d = dec(77, 77);
    rc = mdf_dec_parse((const char *)s, len, d);
    if (!r.syntax_ok) {
        if (rc != MDF_ESYNTAX || d->m != 77 || d->e != 77)
            test_fail(__FILE__, __LINE__, "\"%.*s\" (len %zu): rc %d, want MDF_ESYNTAX", (int)len,
                      s, len, rc);
        return rc;
    }
    if (!r.fits) {
        if (rc != -ERANGE || d->m != 77 || d->e != 77)
            test_fail(__FILE__, __LINE__, "\"%.*s\": rc %d, want -ERANGE", (int)len, s, rc);
        return rc;
    }
    if (rc != 0)
        test_fail(__FILE__, __LINE__, "\"%.*s\": rc %d, want 0", (int)len, s, rc);
    ASSERT(d->e >= -64 && d->e <= 64 && d->_r == 0);
    if (r.sig == 0) {
        ASSERT_EQ(d->m, 0);
    } else {
        /* d must be exactly (sign) sig * 10^exp: its mantissa is sig followed by zeros. */
        long long k = r.exp - d->e;
        __int128 want;

        if (k < 0 || k > 19)
            test_fail(__FILE__, __LINE__, "\"%.*s\": e=%d for exp %lld", (int)len, s, d->e, r.exp);
        want = (__int128)r.sig * p10_128((int)k);
        ASSERT((__int128)d->m == (r.neg ? -want : want));
    }
    /* Consistent round trip: format, parse again, same value and same text. */
    rc = mdf_dec_format(*d, out, sizeof(out));
    ASSERT_GT(rc, 0);
    {
        mdf_dec_t d2;
        char out2[MDF_DEC_STR_MAX];

        ASSERT_EQ(mdf_dec_parse(out, (size_t)rc, &d2), 0);
        ASSERT_EQ(mdf_dec_cmp(*d, d2), 0);
        ASSERT_EQ(mdf_dec_format(d2, out2, sizeof(out2)), rc);
        ASSERT_STR_EQ(out2, out);
    }
    /* And the double agrees with strtod on the very same text (numerically: the sign of a zero
     * is not kept). */
    memcpy(copy, s, len);
    copy[len] = '\0';
    {
        double got = mdf_dec_to_double(*d), want = strtod(copy, NULL);

        if (got != want)
            test_fail(__FILE__, __LINE__, "\"%s\": %.17g, strtod %.17g", copy, got, want);
    }
    return 0;
}

TEST(decimal_rejects_malformed_text)
{
    /* Each is refused as a whole ("\xd9\xa1" is an Arabic-Indic digit one). */
    static const char *const bad[] = {
        "",     "-",     "+",     ".",    "-.",    "+.",    "1..2",     "1.2.3", "1e",   "1e+",
        "1e-",  "1E",    "e1",    ".e1",  "-e1",   "1e1.5", "1e--1",    "1e+-1", "abc",  " 1",
        "1 ",   "\t1",   "1\n",   "0x10", "0X1p3", "nan",   "NaN",      "inf",   "-inf", "Infinity",
        "1,5",  "1,000", "1_000", "--1",  "+-1",   "-+1",   "++1",      "1-",    "1+",   "1e 1",
        "1f",   "1d",    "1L",    "$1",   "1%",    "0b1",   "\xd9\xa1", "1e1e1", "e",    "E5",
        "1.5e", "..5",   "5..",   "- 1",  "1.-5",
    };
    static const char alphabet[] = "0123456789000.eE+-";
    struct test_rng r;
    unsigned char s[300];
    mdf_dec_t d = dec(77, 77);
    int n_ok = 0, n_range = 0, n_syntax = 0;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK_FAIL(bad[i], strlen(bad[i]), MDF_ESYNTAX);
    /* An embedded NUL inside len, a NULL pointer, and a short len that cuts text before a digit
     * (parsing must look at len bytes only). */
    CHECK_FAIL("1\0002", 3, MDF_ESYNTAX);
    CHECK_FAIL("\0", 1, MDF_ESYNTAX);
    CHECK_FAIL("12.5\0", 5, MDF_ESYNTAX);
    CHECK_FAIL("1e5", 2, MDF_ESYNTAX);
    CHECK_FAIL("-5", 1, MDF_ESYNTAX);
    CHECK_FAIL("5", 0, MDF_ESYNTAX);
    ASSERT_EQ(mdf_dec_parse("12", 1, &d), 0);
    ASSERT(d.m == 1 && d.e == 0);
    ASSERT_EQ(mdf_dec_parse(NULL, 1, &d), -EINVAL);
    ASSERT_EQ(mdf_dec_parse("1", 1, NULL), -EINVAL);
    /* Syntax errors win over range errors. */
    CHECK_FAIL("99999999999999999999x", 21, MDF_ESYNTAX);
    CHECK_FAIL("1e99999999999999999999 ", 23, MDF_ESYNTAX);

    /* Fuzz: random bytes and mutated numbers must never crash, and must agree with the
     * reference: MDF_ESYNTAX, -ERANGE, or the exact value with a consistent round trip. */
    test_rng_init(&r, test_seed());
    for (int i = 0; i < 200000; i++) {
        size_t len;

        if (i % 2 == 0) {
            /* Random text over a number-ish alphabet with the odd arbitrary byte. */
            len = (size_t)test_rng_below(&r, 28);
            for (size_t k = 0; k < len; k++)
                s[k] = test_rng_below(&r, 12) == 0
                           ? (unsigned char)test_rng_next(&r)
                           : (unsigned char)alphabet[test_rng_below(&r, sizeof(alphabet) - 1)];
        } else {
            /* A valid number, then one byte replaced, inserted or deleted (or none). */
            int64_t m = rand_mantissa(&r);
            int op = (int)test_rng_below(&r, 4);

            len = canon_text((char *)s, m, (int)test_rng_below(&r, 25));
            if (test_rng_below(&r, 2))
                len += (size_t)sprintf((char *)s + len, "e%d", (int)test_rng_below(&r, 161) - 80);
            if (op == 0 && len > 0) {
                s[test_rng_below(&r, len)] = (unsigned char)alphabet[test_rng_below(&r, 18)];
            } else if (op == 1) {
                size_t at = (size_t)test_rng_below(&r, len + 1);

                memmove(s + at + 1, s + at, len - at);
                s[at] = test_rng_below(&r, 4) ? (unsigned char)alphabet[test_rng_below(&r, 18)]
                                              : (unsigned char)test_rng_next(&r);
                len++;
            } else if (op == 2 && len > 0) {
                size_t at = (size_t)test_rng_below(&r, len);

                memmove(s + at, s + at + 1, len - at - 1);
                len--;
            }
        }
        switch (check_against_ref(s, len, &d)) {
        case 0:
            n_ok++;
            break;
        case -ERANGE:
            n_range++;
            break;
        default:
            n_syntax++;
        }
    }
    /* The fuzz must have exercised every outcome a lot. */
    ASSERT_GT(n_ok, 20000);
    ASSERT_GT(n_range, 1000);
    ASSERT_GT(n_syntax, 20000);
    return 0;
}

/* Asserts that d converts to exactly the double strtod gives for its text. */
#define CHECK_DOUBLE(d, text) check_double(__LINE__, d, text)
static void check_double(int line, mdf_dec_t d, const char *text)
{
    double got = mdf_dec_to_double(d), want = strtod(text, NULL);

    if (memcmp(&got, &want, sizeof(got)) != 0)
        test_fail(__FILE__, line, "\"%s\" (m=%" PRId64 " e=%d): %a, strtod %a", text, d.m, d.e, got,
                  want);
}

TEST(decimal_to_double_is_correctly_rounded)
{
    struct test_rng r;
    char text[MDF_DEC_STR_MAX + 16];
    int n_fast = 0, n_slow = 0;

    /* Known hard cases: ties at 2^53 (round to even), 10^23 (not 10^22 * 10), long mantissas. */
    ASSERT(mdf_dec_to_double(dec(INT64_C(9007199254740993), 0)) == 9007199254740992.0);
    ASSERT(mdf_dec_to_double(dec(INT64_C(9007199254740995), 0)) == 9007199254740996.0);
    ASSERT(mdf_dec_to_double(dec(1, 23)) == 1e23);
    ASSERT(mdf_dec_to_double(dec(1, -1)) == 0.1);
    ASSERT(mdf_dec_to_double(dec(-15, -8)) == -1.5e-7);
    ASSERT(mdf_dec_to_double(dec(0, -8)) == 0.0);
    ASSERT(mdf_dec_to_double(dec(INT64_MAX, 64)) == 9.223372036854775807e82);
    ASSERT(mdf_dec_to_double(dec(INT64_MIN, -64)) == -9.223372036854775808e-46);
    ASSERT(mdf_dec_to_double(dec(1, -64)) == 1e-64);
    ASSERT(mdf_dec_to_double(dec(INT64_C(123456789012345678), -40)) == 123456789012345678e-40);
    ASSERT(mdf_dec_to_double(dec(INT64_C(2912345000000), -8)) == 29123.45);
    CHECK_DOUBLE(dec(INT64_C(7205759403792794), -16), "0.7205759403792794");
    CHECK_DOUBLE(dec(INT64_C(9007199254740993), -22), "9007199254740993e-22");

    /* Random decimals with random text forms, half in the exact fast path's domain. */
    test_rng_init(&r, test_seed());
    for (int i = 0; i < 200000; i++) {
        int64_t m = rand_mantissa(&r);
        int32_t e = (int32_t)(i % 2 ? test_rng_below(&r, 45) - 22 : test_rng_below(&r, 129) - 64);
        int f = (int)test_rng_below(&r, 20);
        size_t n = canon_text(text, m, f);
        mdf_dec_t d;

        if (e + f != 0 || test_rng_below(&r, 4) == 0)
            n += (size_t)sprintf(text + n, "e%+d", e + f);
        ASSERT_EQ(mdf_dec_parse(text, n, &d), 0);
        if (d.m != m || d.e != e)
            test_fail(__FILE__, __LINE__, "\"%s\": m=%" PRId64 " e=%d", text, d.m, d.e);
        if (m > -(INT64_C(1) << 53) && m < (INT64_C(1) << 53) && e >= -22 && e <= 22)
            n_fast++;
        else
            n_slow++;
        CHECK_DOUBLE(d, text);
    }
    ASSERT_GT(n_fast, 40000);
    ASSERT_GT(n_slow, 40000);
    return 0;
}

/* The order of a and b by an oracle: __int128 after aligning exponents when they differ by at
 * most 19 (exact: |m| < 2^63 times 10^19 < 2^64 stays below 2^127); otherwise the values are at
 * least a factor 10 apart unless one is zero, which long double tells apart reliably. */
static int oracle_cmp(mdf_dec_t a, mdf_dec_t b)
{
    int32_t lo = a.e < b.e ? a.e : b.e;

    if (a.e - lo <= 19 && b.e - lo <= 19) {
        __int128 x = (__int128)a.m * p10_128(a.e - lo), y = (__int128)b.m * p10_128(b.e - lo);

        return (x > y) - (x < y);
    } else {
        long double x = (long double)a.m * powl(10.0L, a.e);
        long double y = (long double)b.m * powl(10.0L, b.e);

        return (x > y) - (x < y);
    }
}

/* Asserts cmp(a, b) == want and its antisymmetry. */
#define CHECK_CMP(a, b, want) check_cmp(__LINE__, a, b, want)
static void check_cmp(int line, mdf_dec_t a, mdf_dec_t b, int want)
{
    int ab = mdf_dec_cmp(a, b), ba = mdf_dec_cmp(b, a);

    if (ab != want || ba != -want)
        test_fail(__FILE__, line, "cmp(%" PRId64 "e%d, %" PRId64 "e%d) = %d (reverse %d), want %d",
                  a.m, a.e, b.m, b.e, ab, ba, want);
}

TEST(decimal_compares_exactly_across_exponents)
{
    struct test_rng r;
    int n_equal = 0, n_near = 0;

    /* Across the whole exponent range, where naive scaling overflows. */
    CHECK_CMP(dec(1, 64), dec(INT64_MAX, -64), 1);
    CHECK_CMP(dec(-1, 64), dec(INT64_MIN, -64), -1);
    CHECK_CMP(dec(1, -64), dec(0, 64), 1);
    CHECK_CMP(dec(-1, -64), dec(0, -64), -1);
    CHECK_CMP(dec(INT64_MIN, 64), dec(INT64_MAX, 64), -1);
    CHECK_CMP(dec(INT64_MIN, 0), dec(INT64_MIN + 1, 0), -1);
    CHECK_CMP(dec(INT64_MIN, 0), dec(INT64_MIN, 0), 0);
    CHECK_CMP(dec(INT64_MAX, 64), dec(INT64_MAX, 64), 0);
    /* Same value, different exponents (trailing zeros), and neighbours of it. */
    CHECK_CMP(dec(10, 0), dec(1, 1), 0);
    CHECK_CMP(dec(100, -2), dec(1, 0), 0);
    CHECK_CMP(dec(1000000, -8), dec(1, -2), 0);
    CHECK_CMP(dec(0, 5), dec(0, -5), 0);
    CHECK_CMP(dec(INT64_C(1000000000000000000), 46), dec(1, 64), 0);
    CHECK_CMP(dec(INT64_C(-1000000000000000000), -64), dec(-1, -46), 0);
    CHECK_CMP(dec(INT64_C(999999999999999999), 46), dec(1, 64), -1);
    CHECK_CMP(dec(INT64_C(1000000000000000001), 46), dec(1, 64), 1);
    CHECK_CMP(dec(INT64_MAX, 0), dec(INT64_C(922337203685477580), 1), 1);
    CHECK_CMP(dec(INT64_C(9223372036854775800), 0), dec(INT64_C(922337203685477580), 1), 0);
    CHECK_CMP(dec(INT64_MIN, -1), dec(INT64_C(-922337203685477581), 0), 1);
    CHECK_CMP(dec(INT64_MIN, -18), dec(-9, 0), -1);
    CHECK_CMP(dec(INT64_MAX, -18), dec(9, 0), 1);
    CHECK_CMP(dec(INT64_MAX, -19), dec(1, 0), -1);
    CHECK_CMP(dec(12345, -2), dec(1234500, -4), 0);
    CHECK_CMP(dec(12345, -2), dec(1234499, -4), 1);
    CHECK_CMP(dec(-12345, -2), dec(-1234499, -4), -1);
    /* Mixed signs never compare by magnitude. */
    CHECK_CMP(dec(-1, -64), dec(1, -64), -1);
    CHECK_CMP(dec(-INT64_MAX, 64), dec(1, -64), -1);

    /* Random pairs: independent ones, and pairs of equal value with one mantissa nudged. */
    test_rng_init(&r, test_seed());
    for (int i = 0; i < 1000000; i++) {
        mdf_dec_t a = dec(rand_mantissa(&r), (int32_t)test_rng_below(&r, 129) - 64), b;

        if (i % 2 == 0) {
            b = dec(rand_mantissa(&r), (int32_t)test_rng_below(&r, 129) - 64);
            if (i % 8 == 0) { /* close exponents */
                int32_t e = a.e + (int32_t)test_rng_below(&r, 5) - 2;

                if (e >= -64 && e <= 64)
                    b.e = e;
            }
        } else {
            /* The same value with k zeros moved between mantissa and exponent. */
            int k = (int)test_rng_below(&r, 19);

            b = a;
            while (k-- > 0 && b.e > -64 && b.m <= INT64_MAX / 10 && b.m >= INT64_MIN / 10) {
                b.m *= 10;
                b.e--;
            }
            n_equal += b.e != a.e;
            if (test_rng_below(&r, 2)) {
                int64_t nudge = test_rng_below(&r, 2) ? 1 : -1;

                if ((nudge > 0 && b.m < INT64_MAX) || (nudge < 0 && b.m > INT64_MIN)) {
                    b.m += nudge;
                    n_near++;
                }
            }
        }
        {
            int want = oracle_cmp(a, b), got = mdf_dec_cmp(a, b);

            if (got != want || mdf_dec_cmp(b, a) != -want)
                test_fail(__FILE__, __LINE__, "cmp(%" PRId64 "e%d, %" PRId64 "e%d) = %d, oracle %d",
                          a.m, a.e, b.m, b.e, got, want);
        }
    }
    ASSERT_GT(n_equal, 100000);
    ASSERT_GT(n_near, 100000);
    return 0;
}

TEST(decimal_format_reports_short_buffer)
{
    static const struct {
        int64_t m;        /* mantissa */
        int32_t e;        /* exponent */
        const char *text; /* expected text */
    } cases[] = {
        {0, 0, "0"},
        {0, 5, "0"},
        {0, -3, "0.000"},
        {-5, 2, "-500"},
        {7, 0, "7"},
        {1000000, -8, "0.01000000"},
        {12345, -2, "123.45"},
        {-12345, -5, "-0.12345"},
        {-12345, -6, "-0.012345"},
        {INT64_MIN, 0, "-9223372036854775808"},
        {INT64_MAX, -19, "0.9223372036854775807"},
        {INT64_MIN, 64,
         "-9223372036854775808"
         "0000000000000000000000000000000000000000000000000000000000000000"},
        {INT64_MIN, -64,
         "-0.000000000000000000000000000000000000000000000"
         "9223372036854775808"},
        {-1, -64, "-0.0000000000000000000000000000000000000000000000000000000000000001"},
    };
    char buf[MDF_DEC_STR_MAX + 32];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        mdf_dec_t d = dec(cases[i].m, cases[i].e);
        size_t n = strlen(cases[i].text);

        ASSERT_LT(n, MDF_DEC_STR_MAX);
        /* Every buffer too small by at least one byte: MDF_ETRUNC, "" and nothing past len. */
        for (size_t len = 0; len <= n; len++) {
            memset(buf, 'X', sizeof(buf));
            ASSERT_EQ(mdf_dec_format(d, buf, len), MDF_ETRUNC);
            if (len > 0)
                ASSERT_EQ(buf[0], '\0');
            for (size_t k = len; k < sizeof(buf); k++)
                if (buf[k] != 'X')
                    test_fail(__FILE__, __LINE__, "%s: len %zu wrote buf[%zu]", cases[i].text, len,
                              k);
        }
        /* Exactly enough (text and NUL), and MDF_DEC_STR_MAX. */
        memset(buf, 'X', sizeof(buf));
        ASSERT_EQ(mdf_dec_format(d, buf, n + 1), (int64_t)n);
        ASSERT_STR_EQ(buf, cases[i].text);
        ASSERT_EQ(buf[n + 1], 'X');
        ASSERT_EQ(mdf_dec_format(d, buf, MDF_DEC_STR_MAX), (int64_t)n);
        ASSERT_STR_EQ(buf, cases[i].text);
    }
    ASSERT_EQ(mdf_dec_format(dec(1, 0), NULL, 0), MDF_ETRUNC);
    return 0;
}
