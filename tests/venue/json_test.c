/*
 * Tests of the JSON access layer (src/venue/json.c): both backends accept the same grammar and
 * read the same values, integers and decimals are exact, lookups and iteration find the right
 * values past nested ones, and the jsmn path allocates nothing per message.
 */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "venue/json.h"

#include "test.h"

/* Both documents, jsmn first. */
struct docs {
    struct json_doc *d[2]; /* [0] jsmn, [1] jansson */
};

static void docs_new(struct docs *x, uint32_t max_tokens)
{
    x->d[0] = json_doc_new(VDEC_JSMN, max_tokens);
    x->d[1] = json_doc_new(VDEC_JANSSON, 0);
    ASSERT(x->d[0] && x->d[1]);
    ASSERT_EQ(json_doc_backend(x->d[0]), VDEC_JSMN);
    ASSERT_EQ(json_doc_backend(x->d[1]), VDEC_JANSSON);
}

static void docs_free(struct docs *x)
{
    json_doc_free(x->d[0]);
    json_doc_free(x->d[1]);
}

/* Parses a NUL-terminated text. */
static int parse(struct json_doc *d, const char *s, struct jnode *root)
{
    return json_parse(d, s, strlen(s), root);
}

TEST(json_backends_accept_the_same_grammar)
{
    static const struct {
        const char *text;
        bool ok;
    } cases[] = {
        {"{}", true},
        {"[]", true},
        {" \t\r\n{ \"a\" : 1 , \"b\" : [ 1 , 2 ] } \n", true},
        {"{\"a\":{\"b\":{\"c\":[[],{}]}}}", true},
        {"[true,false,null,0,-0,1.5,-1.5e10,1E+2,1e-2,\"\",\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]", true},
        {"[\"\\u0041\\u00e9\"]", true},
        {"{\"a\":1,\"a\":2}", true},
        {"", false},
        {"   ", false},
        {"1", false},
        {"\"x\"", false},
        {"null", false},
        {"{", false},
        {"}", false},
        {"[1,]", false},
        {"[,1]", false},
        {"[1,,2]", false},
        {"[1 2]", false},
        {"{\"a\":1,}", false},
        {"{,\"a\":1}", false},
        {"{\"a\":1 \"b\":2}", false},
        {"{\"a\" 1}", false},
        {"{\"a\"::1}", false},
        {"{\"a\":}", false},
        {"{\"a\"}", false},
        {"{1:2}", false},
        {"{\"a\":1:2}", false},
        {"[\"a\":1]", false},
        {"[tru]", false},
        {"[truex]", false},
        {"[nul]", false},
        {"[True]", false},
        {"[01]", false},
        {"[1.]", false},
        {"[.5]", false},
        {"[-]", false},
        {"[1e]", false},
        {"[1e+]", false},
        {"[+1]", false},
        {"[0x10]", false},
        {"[1]]", false},
        {"[1]x", false},
        {"[1][2]", false},
        {"{}{}", false},
        {"[\"\\x\"]", false},
        {"[\"\\u00g0\"]", false},
        {"[\"abc]", false},
        {"[1}", false},
        {"{\"a\":1]", false},
    };
    struct docs x;
    struct jnode root;

    docs_new(&x, 256);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (int b = 0; b < 2; b++) {
            int rc = parse(x.d[b], cases[i].text, &root);
            if ((rc == 0) != cases[i].ok)
                test_fail(__FILE__, __LINE__, "%s: %s gives %d (%s)", b ? "jansson" : "jsmn",
                          cases[i].text, rc, mdf_errmsg());
            if (rc < 0) {
                ASSERT_EQ(rc, -EBADMSG);
                ASSERT_CONTAINS(mdf_errmsg(), "not valid JSON");
                ASSERT(!json_present(root));
            }
        }
    }
    /* An embedded NUL ends nothing early: it is junk. */
    for (int b = 0; b < 2; b++)
        ASSERT_EQ(json_parse(x.d[b], "{}\0{}", 5, &root), -EBADMSG);
    docs_free(&x);
    return 0;
}

TEST(json_integers_are_exact_and_fractions_are_refused)
{
    static const struct {
        const char *num;
        int rc;
        int64_t v;
    } cases[] = {
        {"0", 0, 0},
        {"-0", 0, 0},
        {"42", 0, 42},
        {"-42", 0, -42},
        {"9223372036854775807", 0, INT64_MAX},
        {"-9223372036854775808", 0, INT64_MIN},
        {"9223372036854775808", -ERANGE, 0},
        {"-9223372036854775809", -ERANGE, 0},
        {"1.0", -EBADMSG, 0},
        {"1e3", -EBADMSG, 0},
        {"\"5\"", -EBADMSG, 0},
        {"true", -EBADMSG, 0},
        {"null", -EBADMSG, 0},
        {"[]", -EBADMSG, 0},
    };
    struct docs x;
    char buf[128];

    docs_new(&x, 64);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (int b = 0; b < 2; b++) {
            struct jnode root, n;
            struct json_iter it;
            int64_t v = 77;
            int rc;
            snprintf(buf, sizeof(buf), "[%s]", cases[i].num);
            rc = parse(x.d[b], buf, &root);
            if (b == 1 && cases[i].rc == -ERANGE) {
                /* jansson refuses the whole text; it says why with the same code. */
                ASSERT_EQ(rc, -ERANGE);
                continue;
            }
            ASSERT_EQ(rc, 0);
            json_iter_init(x.d[b], root, &it);
            ASSERT(json_iter_next(x.d[b], &it, &n));
            rc = json_int64(x.d[b], n, &v);
            if (rc != cases[i].rc)
                test_fail(__FILE__, __LINE__, "%s on %s: %d", cases[i].num, b ? "jansson" : "jsmn",
                          rc);
            if (rc == 0)
                ASSERT_EQ(v, cases[i].v);
        }
    }
    docs_free(&x);
    return 0;
}

TEST(json_collect_finds_members_past_nested_values_and_the_last_duplicate_wins)
{
    const char *text = "{\"x\":[1,[2,{\"a\":\"inner\"}],{\"b\":3}],\"a\":\"outer\",\"nest\":{\"a\":"
                       "{\"a\":[]}},\"b\":true,\"a\":\"last\",\"\":5,\"long_key\":-7}";
    static const struct json_key keys[] = {JSON_KEY("a"),       JSON_KEY("b"), JSON_KEY("nest"),
                                           JSON_KEY("missing"), JSON_KEY(""),  JSON_KEY("long_key"),
                                           JSON_KEY("long_ke")};
    struct docs x;

    docs_new(&x, 256);
    for (int b = 0; b < 2; b++) {
        struct json_doc *d = x.d[b];
        struct jnode root, v[7], inner;
        const char *s;
        size_t len;
        int64_t i64;
        bool bo;

        ASSERT_EQ(parse(d, text, &root), 0);
        ASSERT_EQ(json_kind(d, root), JK_OBJECT);
        json_collect(d, root, keys, 7, v);
        ASSERT_EQ(json_str(d, v[0], &s, &len), 0);
        ASSERT_EQ(len, 4);
        ASSERT(memcmp(s, "last", 4) == 0);
        ASSERT_EQ(json_bool(d, v[1], &bo), 0);
        ASSERT(bo);
        ASSERT_EQ(json_kind(d, v[2]), JK_OBJECT);
        ASSERT_EQ(json_count(d, v[2]), 1);
        ASSERT(!json_present(v[3]));
        ASSERT_EQ(json_kind(d, v[3]), JK_ABSENT);
        ASSERT_EQ(json_int64(d, v[4], &i64), 0);
        ASSERT_EQ(i64, 5);
        ASSERT_EQ(json_int64(d, v[5], &i64), 0);
        ASSERT_EQ(i64, -7);
        ASSERT(!json_present(v[6]));
        /* Nested lookups. */
        inner = json_get(d, json_get(d, v[2], "a"), "a");
        ASSERT_EQ(json_kind(d, inner), JK_ARRAY);
        ASSERT_EQ(json_count(d, inner), 0);
        ASSERT(!json_present(json_get(d, inner, "a")));
        ASSERT(!json_present(json_get(d, v[1], "a")));
        /* Collect on a non-object gives nothing. */
        json_collect(d, json_get(d, root, "x"), keys, 7, v);
        for (int k = 0; k < 7; k++)
            ASSERT(!json_present(v[k]));
        json_collect(d, json_absent(), keys, 7, v);
        ASSERT(!json_present(v[0]));
    }
    docs_free(&x);
    return 0;
}

TEST(json_iterates_arrays_element_by_element)
{
    const char *text = "[[\"1.5\",\"2\"],{\"k\":[1,2,3]},[],7,\"s\",null,[[[\"deep\"]]],false]";
    static const enum json_kind want[] = {JK_ARRAY,  JK_OBJECT, JK_ARRAY, JK_NUMBER,
                                          JK_STRING, JK_NULL,   JK_ARRAY, JK_BOOL};
    struct docs x;

    docs_new(&x, 256);
    for (int b = 0; b < 2; b++) {
        struct json_doc *d = x.d[b];
        struct jnode root, e, f;
        struct json_iter it, in;
        struct mdf_dec dv;
        uint32_t i = 0;
        int64_t v;
        bool bo = true;

        ASSERT_EQ(parse(d, text, &root), 0);
        ASSERT_EQ(json_count(d, root), 8);
        json_iter_init(d, root, &it);
        while (json_iter_next(d, &it, &e)) {
            ASSERT_LT(i, 8);
            ASSERT_EQ(json_kind(d, e), want[i]);
            switch (i) {
            case 0:
                json_iter_init(d, e, &in);
                ASSERT(json_iter_next(d, &in, &f));
                ASSERT_EQ(json_dec(d, f, &dv), 0);
                ASSERT_EQ(dv.m, 15);
                ASSERT_EQ(dv.e, -1);
                ASSERT(json_iter_next(d, &in, &f));
                ASSERT_EQ(json_dec(d, f, &dv), 0);
                ASSERT_EQ(dv.m, 2);
                ASSERT(!json_iter_next(d, &in, &f));
                break;
            case 1:
                ASSERT_EQ(json_count(d, json_get(d, e, "k")), 3);
                break;
            case 3:
                ASSERT_EQ(json_int64(d, e, &v), 0);
                ASSERT_EQ(v, 7);
                break;
            case 7:
                ASSERT_EQ(json_bool(d, e, &bo), 0);
                ASSERT(!bo);
                break;
            default:
                break;
            }
            i++;
        }
        ASSERT_EQ(i, 8);
        /* Iterating a non-array yields nothing. */
        json_iter_init(d, json_absent(), &it);
        ASSERT(!json_iter_next(d, &it, &e));
    }
    docs_free(&x);
    return 0;
}

TEST(json_decimals_strings_and_text_read_exactly)
{
    const char *text = "[\"0.35280000\",\"-12.5\",\"1e-7\",0.1,25,\"1x\",\"\",true,\"\\u0031\","
                       "\"99999999999999999999999\",\"A\\\"B\\u00e9\\ud83d\\ude00\\n\\u0041\","
                       "\"caf\xc3\xa9\",7]";
    struct docs x;

    docs_new(&x, 256);
    for (int b = 0; b < 2; b++) {
        struct json_doc *d = x.d[b];
        struct jnode root, n[13];
        struct json_iter it;
        struct mdf_dec v;
        char buf[MDF_DEC_STR_MAX], small[4];
        const char *s;
        size_t len;

        ASSERT_EQ(parse(d, text, &root), 0);
        json_iter_init(d, root, &it);
        for (int i = 0; i < 13; i++)
            ASSERT(json_iter_next(d, &it, &n[i]));
        ASSERT_EQ(json_dec(d, n[0], &v), 0);
        mdf_dec_format(v, buf, sizeof(buf));
        ASSERT_STR_EQ(buf, "0.35280000");
        ASSERT_EQ(json_dec(d, n[1], &v), 0);
        ASSERT_EQ(v.m, -125);
        ASSERT_EQ(v.e, -1);
        ASSERT_EQ(json_dec(d, n[2], &v), 0);
        ASSERT_EQ(v.m, 1);
        ASSERT_EQ(v.e, -7);
        /* 0.1 as a number: exact from its text on both paths (jansson's double is not read). */
        ASSERT_EQ(json_dec(d, n[3], &v), 0);
        ASSERT(v.m == 1 && v.e == -1);
        ASSERT_EQ(json_dec(d, n[4], &v), 0);
        ASSERT(v.m == 25 && v.e == 0);
        ASSERT_EQ(json_dec(d, n[5], &v), -EBADMSG);
        ASSERT_EQ(json_dec(d, n[6], &v), -EBADMSG);
        ASSERT_EQ(json_dec(d, n[7], &v), -EBADMSG);
        /* An escaped digit is no decimal on either path. */
        ASSERT_EQ(json_dec(d, n[8], &v), -EBADMSG);
        ASSERT_EQ(json_dec(d, n[9], &v), -ERANGE);
        ASSERT_EQ(json_name(d, n[0], &s, &len), 0);
        ASSERT_EQ(len, 10);
        ASSERT_EQ(json_name(d, n[10], &s, &len), -EBADMSG);
        ASSERT_EQ(json_name(d, n[11], &s, &len), -EBADMSG);
        ASSERT_EQ(json_name(d, n[12], &s, &len), -EBADMSG);
        ASSERT_EQ(json_str(d, n[12], &s, &len), -EBADMSG);
        /* Text: unescaped, one '?' per non-ASCII character, control characters masked. */
        char t[64];
        ASSERT_EQ(json_text(d, n[10], t, sizeof(t)), 7);
        ASSERT_STR_EQ(t, "A\"B?"
                         "??A");
        ASSERT_EQ(json_text(d, n[11], t, sizeof(t)), 4);
        ASSERT_STR_EQ(t, "caf?");
        ASSERT_EQ(json_text(d, n[10], small, sizeof(small)), 3);
        ASSERT_STR_EQ(small, "A\"B");
        ASSERT_EQ(json_text(d, n[12], t, sizeof(t)), 6);
        ASSERT_STR_EQ(t, "number");
        ASSERT_EQ(json_text(d, json_absent(), t, sizeof(t)), 6);
        ASSERT_STR_EQ(t, "absent");
    }
    docs_free(&x);
    return 0;
}

TEST(json_backends_read_escapes_numbers_and_keys_from_the_text_alike)
{
    /* Member values: escaped decimals and names, numbers with literals a double would lose,
     * an escaped key, repeated keys, and strings full of brackets and quotes to step over. */
    const char *text = "{\"dot\":\"0\\u002e1\",\"dig\":\"\\u0031\",\"nm\":\"BTC\\u0055SDT\","
                       "\"\\u0070\":\"5\",\"skip\":[\"]}\\\"\\\\\",{\"p\":\"9\"}],"
                       "\"n1\":1.00,\"n2\":0.30000000000000004,\"n3\":-0,\"n4\":1E+2,"
                       "\"n5\":12345678901234567,\"dup\":\"1\",\"dup\":2.50,\"p\":\"7\"}";
    static const struct json_key keys[] = {
        JSON_KEY("dot"), JSON_KEY("dig"), JSON_KEY("nm"), JSON_KEY("p"),  JSON_KEY("n1"),
        JSON_KEY("n2"),  JSON_KEY("n3"),  JSON_KEY("n4"), JSON_KEY("n5"), JSON_KEY("dup"),
    };
    static const char *const exact[] = {"1.00", "0.30000000000000004", "0", "1E+2",
                                        "12345678901234567"};
    struct mdf_dec got[2][5], dup[2];
    struct docs x;

    docs_new(&x, 256);
    for (int b = 0; b < 2; b++) {
        struct json_doc *d = x.d[b];
        struct jnode root, v[10];
        struct mdf_dec m;
        const char *s;
        size_t len;

        ASSERT_EQ(parse(d, text, &root), 0);
        json_collect(d, root, keys, 10, v);
        /* An escape inside a decimal or a name is refused on both paths. */
        ASSERT_EQ(json_dec(d, v[0], &m), -EBADMSG);
        ASSERT_EQ(json_dec(d, v[1], &m), -EBADMSG);
        ASSERT_EQ(json_name(d, v[2], &s, &len), -EBADMSG);
        /* The escaped key "\u0070" is not "p": the plain one is found, not the one in "skip". */
        ASSERT_EQ(json_name(d, v[3], &s, &len), 0);
        ASSERT_EQ(len, 1);
        ASSERT_EQ(s[0], '7');
        /* Numbers from their literal text: the same mantissa and exponent on both. */
        for (int i = 0; i < 5; i++) {
            struct mdf_dec want;
            ASSERT_EQ(json_dec(d, v[4 + i], &got[b][i]), 0);
            ASSERT_EQ(mdf_dec_parse(exact[i], strlen(exact[i]), &want), 0);
            ASSERT(got[b][i].m == want.m && got[b][i].e == want.e);
        }
        /* The last of repeated keys wins. */
        ASSERT_EQ(json_dec(d, v[9], &dup[b]), 0);
        ASSERT(dup[b].m == 250 && dup[b].e == -2);
    }
    ASSERT(memcmp(got[0], got[1], sizeof(got[0])) == 0);
    docs_free(&x);
    return 0;
}

TEST(json_nesting_limit_is_the_same_on_both_backends)
{
    const size_t max = JSON_MAX_DEPTH + 1;
    char *buf = malloc(2 * max + 1);
    struct docs x;
    struct jnode root;

    ASSERT(buf);
    docs_new(&x, 8192);
    for (size_t depth = JSON_MAX_DEPTH - 1; depth <= max; depth++) {
        for (size_t i = 0; i < depth; i++) {
            buf[i] = '[';
            buf[depth + i] = ']';
        }
        for (int b = 0; b < 2; b++) {
            int rc = json_parse(x.d[b], buf, 2 * depth, &root);
            if (rc != (depth <= JSON_MAX_DEPTH ? 0 : -EBADMSG))
                test_fail(__FILE__, __LINE__, "%s at depth %zu: %d", b ? "jansson" : "jsmn", depth,
                          rc);
        }
    }
    free(buf);
    docs_free(&x);
    return 0;
}

TEST(json_jsmn_refuses_more_tokens_than_preallocated_and_recovers)
{
    struct json_doc *d = json_doc_new(VDEC_JSMN, 16);
    struct jnode root;
    int64_t v;

    ASSERT(d);
    ASSERT_EQ(parse(d, "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]", &root), 0);
    ASSERT_EQ(parse(d, "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]", &root), -E2BIG);
    ASSERT_CONTAINS(mdf_errmsg(), "16 JSON tokens");
    ASSERT_EQ(parse(d, "{\"a\":3}", &root), 0);
    ASSERT_EQ(json_int64(d, json_get(d, root, "a"), &v), 0);
    ASSERT_EQ(v, 3);
    json_doc_free(d);
    json_doc_free(NULL);
    ASSERT(json_doc_new((enum vdec_backend)7, 16) == NULL);
    return 0;
}

TEST(json_jsmn_path_allocates_nothing_per_message)
{
#if defined(__SANITIZE_ADDRESS__)
    test_skip("mallinfo2 does not see the sanitizer's allocator");
#else
    const char *msg = "{\"stream\":\"nknusdt@depth@100ms\",\"data\":{\"e\":\"depthUpdate\",\"E\":"
                      "1633998512068,\"s\":\"NKNUSDT\",\"U\":499869750,\"u\":499869752,\"b\":[["
                      "\"0.35130000\",\"6195.00000000\"]],\"a\":[]}}";
    struct docs x;
    struct jnode root;
    struct mallinfo2 before, after;

    docs_new(&x, 256);
    for (int b = 0; b < 2; b++) {
        ASSERT_EQ(parse(x.d[b], msg, &root), 0); /* warm up */
        before = mallinfo2();
        for (int i = 0; i < 1000; i++) {
            struct jnode data;
            struct mdf_dec v;
            struct json_iter it;
            ASSERT_EQ(parse(x.d[b], msg, &root), 0);
            data = json_get(x.d[b], root, "data");
            json_iter_init(x.d[b], json_get(x.d[b], data, "b"), &it);
            ASSERT(json_iter_next(x.d[b], &it, &root));
            ASSERT_EQ(json_kind(x.d[b], root), JK_ARRAY);
            ASSERT_EQ(json_dec(x.d[b], json_get(x.d[b], data, "E"), &v), 0);
            if (b == 1)
                break; /* jansson: one message is enough to see its tree */
        }
        after = mallinfo2();
        if (b == 0) {
            ASSERT_EQ(after.uordblks, before.uordblks);
            ASSERT_EQ(after.hblkhd, before.hblkhd);
        }
    }
    /* The measure can see allocation: a parsed jansson tree is held until the next parse. */
    ASSERT_EQ(parse(x.d[1], "{}", &root), 0);
    before = mallinfo2();
    ASSERT_EQ(parse(x.d[1], msg, &root), 0);
    after = mallinfo2();
    ASSERT_GT(after.uordblks, before.uordblks);
    docs_free(&x);
    return 0;
#endif
}
