/*
 * Fuzzes the exact decimals: whatever mdf_dec_parse accepts must format, parse back to the same
 * value, and format again to the same text (parse, format, parse is a round trip).
 */
#include <stdint.h>
#include <string.h>

#include <mdfeed/mdfeed.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char t1[MDF_DEC_STR_MAX], t2[MDF_DEC_STR_MAX], small[8];
    mdf_dec_t a, b;
    int n1, n2;

    if (mdf_dec_parse((const char *)data, size, &a) != 0)
        return 0;
    n1 = mdf_dec_format(a, t1, sizeof(t1));
    FZ_CHECK(n1 > 0 && (size_t)n1 < sizeof(t1) && strlen(t1) == (size_t)n1);
    FZ_CHECK(mdf_dec_parse(t1, (size_t)n1, &b) == 0);
    FZ_CHECK(mdf_dec_cmp(a, b) == 0);
    n2 = mdf_dec_format(b, t2, sizeof(t2));
    FZ_CHECK(n2 == n1 && memcmp(t1, t2, (size_t)n1) == 0);
    /* A short buffer is refused, never overrun. */
    n2 = mdf_dec_format(a, small, sizeof(small));
    FZ_CHECK(n1 < (int)sizeof(small) ? n2 == n1 : n2 < 0);
    (void)mdf_dec_to_double(a);
    return 0;
}
