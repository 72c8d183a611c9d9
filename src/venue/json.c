/*
 * JSON access layer for the venue decoders: jsmn (in place, preallocated tokens) and jansson
 * (tree) behind one set of accessors (see json.h for the interface and its strictness rules).
 *
 * Design of the jsmn path: jsmn is a tokenizer, not a validator, so after it runs one pass over
 * the tokens (json_check) checks what it lets through: the separators between tokens (jsmn
 * ignores missing or doubled commas and colons), that object members are key:value pairs, the
 * literals and number grammar, the nesting depth and that one value fills the text. After that
 * a token's subtree is contiguous and its `size` counts its children, so skipping a value is a
 * short walk and nothing needs more memory than the token array.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSMN_STATIC
#define JSMN_PARENT_LINKS
#define JSMN_STRICT
#include <jsmn.h>

#include <jansson.h>

#include "core/err.h"
#include "venue/json.h"

/* A frame of json_check's walk: a container (or an object key, which has one child) whose
 * children are being checked. */
struct check_frame {
    int32_t tok;      /* the container or key token */
    int32_t left;     /* children not yet checked */
    int32_t seen;     /* children checked so far */
    int32_t prev_end; /* text offset just past the last thing checked inside it */
    int32_t kind;     /* FR_ARRAY, FR_OBJECT or FR_KEY */
};

enum { FR_ARRAY, FR_OBJECT, FR_KEY };

struct json_doc {
    enum vdec_backend backend;  /* which parser */
    const char *text;           /* the message being read (borrowed) */
    int32_t len;                /* its length */
    jsmntok_t *toks;            /* jsmn: token array (new, owned) */
    uint32_t max_tokens;        /* jsmn: its size */
    int32_t ntok;               /* jsmn: tokens of the current message */
    struct check_frame *frames; /* jsmn: json_check's stack (new, owned) */
    json_t *root;               /* jansson: the current message's tree (owned reference) */
};

/* Most frames json_check can need: two per nesting level (container + key) plus the root. */
#define MAX_FRAMES (2 * JSON_MAX_DEPTH + 2)

struct json_doc *json_doc_new(enum vdec_backend b, uint32_t max_tokens)
{
    struct json_doc *d;

    if (b != VDEC_JSMN && b != VDEC_JANSSON) {
        err_set(-EINVAL, "unknown JSON backend %d", (int)b);
        return NULL;
    }
    d = calloc(1, sizeof(*d));
    if (!d)
        goto err;
    d->backend = b;
    if (b == VDEC_JSMN) {
        if (max_tokens < 16)
            max_tokens = 16;
        if (max_tokens > INT32_MAX / 2)
            max_tokens = INT32_MAX / 2;
        d->max_tokens = max_tokens;
        d->toks = malloc((size_t)max_tokens * sizeof(*d->toks));
        if (!d->toks)
            goto err_free_doc;
        d->frames = malloc(MAX_FRAMES * sizeof(*d->frames));
        if (!d->frames)
            goto err_free_toks;
    }
    return d;

err_free_toks:
    free(d->toks);
err_free_doc:
    free(d);
err:
    err_set(-ENOMEM, "out of memory for a JSON document");
    return NULL;
}

void json_doc_free(struct json_doc *d)
{
    if (!d)
        return;
    if (d->root)
        json_decref(d->root);
    free(d->frames);
    free(d->toks);
    free(d);
}

enum vdec_backend json_doc_backend(const struct json_doc *d)
{
    return d->backend;
}

/* ------------------------------------------------------------------------------------------ */
/* jsmn: checking the token stream                                                            */

/* True if c is JSON whitespace. */
static inline bool is_ws(char c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

/* True if s[from..to) is whitespace around exactly one sep (or whitespace only if sep is 0). */
static bool gap_ok(const char *s, int32_t from, int32_t to, char sep)
{
    int32_t i = from;

    /* Fast paths: nothing between two tokens, or just the separator. */
    if (to == from)
        return sep == 0;
    if (to == from + 1 && s[from] == sep)
        return true;
    if (to < from)
        return false;
    while (i < to && is_ws(s[i]))
        i++;
    if (sep) {
        if (i >= to || s[i] != sep)
            return false;
        i++;
        while (i < to && is_ws(s[i]))
            i++;
    }
    return i == to;
}

/* Where a token's text starts and ends, counting a string's quotes. */
static inline int32_t ext_start(const jsmntok_t *t)
{
    return t->type == JSMN_STRING ? t->start - 1 : t->start;
}

static inline int32_t ext_end(const jsmntok_t *t)
{
    return t->type == JSMN_STRING ? t->end + 1 : t->end;
}

/* True if s[0..n) is a JSON number: -?(0|[1-9]d*)(.d+)?([eE][+-]?d+)?. */
static bool number_ok(const char *s, int32_t n)
{
    int32_t i = 0;

    if (i < n && s[i] == '-')
        i++;
    if (i >= n)
        return false;
    if (s[i] == '0') {
        i++;
    } else if (s[i] >= '1' && s[i] <= '9') {
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
    } else {
        return false;
    }
    if (i < n && s[i] == '.') {
        int32_t d = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == d)
            return false;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        int32_t d;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        d = i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == d)
            return false;
    }
    return i == n;
}

/* True if a primitive token is a literal (true, false, null) or a valid number. */
static bool primitive_ok(const char *s, const jsmntok_t *t)
{
    int32_t n = t->end - t->start;
    const char *p = s + t->start;

    switch (p[0]) {
    case 't':
        return n == 4 && memcmp(p, "true", 4) == 0;
    case 'f':
        return n == 5 && memcmp(p, "false", 5) == 0;
    case 'n':
        return n == 4 && memcmp(p, "null", 4) == 0;
    default:
        return number_ok(p, n);
    }
}

/*
 * Checks the tokens jsmn produced for text s[0..len): one object or array filling the text
 * (whitespace around it), every separator where JSON puts one, object members as string keys
 * with one value each, scalars without children, valid literals and numbers, and nesting no
 * deeper than JSON_MAX_DEPTH. One pass, in token (document) order. Returns 0 or -EBADMSG with
 * err_set().
 */
static int json_check(struct json_doc *d, const char *s, size_t len)
{
    const jsmntok_t *toks = d->toks;
    struct check_frame *fr = d->frames;
    int32_t ntok = d->ntok, i = 1, sp = 0, depth = 1;
    const char *why;

    if (ntok < 1) {
        why = "empty";
        goto bad;
    }
    if (toks[0].type != JSMN_OBJECT && toks[0].type != JSMN_ARRAY) {
        why = "top level is not an object or an array";
        goto bad;
    }
    if (!gap_ok(s, 0, toks[0].start, 0)) {
        why = "junk before the value";
        goto bad;
    }
    fr[sp++] = (struct check_frame){0, toks[0].size, 0, toks[0].start + 1,
                                    toks[0].type == JSMN_OBJECT ? FR_OBJECT : FR_ARRAY};
    while (sp > 0) {
        struct check_frame *f = &fr[sp - 1];
        const jsmntok_t *t;
        char sep;

        if (f->left == 0) {
            int32_t end;
            if (f->kind == FR_KEY) {
                end = f->prev_end;
            } else {
                t = &toks[f->tok];
                if (!gap_ok(s, f->prev_end, t->end - 1, 0)) {
                    why = "missing or extra separator before a closing bracket";
                    goto bad;
                }
                end = t->end;
                depth--;
            }
            sp--;
            if (sp > 0)
                fr[sp - 1].prev_end = end;
            continue;
        }
        if (i >= ntok) {
            why = "token count mismatch";
            goto bad;
        }
        t = &toks[i];
        sep = f->kind == FR_KEY ? ':' : f->seen ? ',' : 0;
        if (!gap_ok(s, f->prev_end, ext_start(t), sep)) {
            why = sep == ':' ? "missing ':'" : "missing or extra ','";
            goto bad;
        }
        f->left--;
        f->seen++;
        if (f->kind == FR_OBJECT) {
            if (t->type != JSMN_STRING || t->size != 1) {
                why = "object member is not \"key\": value";
                goto bad;
            }
            fr[sp++] = (struct check_frame){i, 1, 0, ext_end(t), FR_KEY};
        } else if (t->type == JSMN_OBJECT || t->type == JSMN_ARRAY) {
            if (depth >= JSON_MAX_DEPTH || sp + 2 > MAX_FRAMES) {
                why = "nested too deep";
                goto bad;
            }
            depth++;
            fr[sp++] = (struct check_frame){i, t->size, 0, t->start + 1,
                                            t->type == JSMN_OBJECT ? FR_OBJECT : FR_ARRAY};
        } else {
            if (t->size != 0 || (t->type == JSMN_PRIMITIVE && !primitive_ok(s, t)) ||
                (t->type != JSMN_PRIMITIVE && t->type != JSMN_STRING)) {
                why = "bad literal or number";
                goto bad;
            }
            f->prev_end = ext_end(t);
        }
        i++;
    }
    if (i != ntok || !gap_ok(s, toks[0].end, (int32_t)len, 0)) {
        why = "junk after the value";
        goto bad;
    }
    return 0;
bad:
    return err_set(-EBADMSG, "not valid JSON: %s (near byte %d)", why,
                   i < ntok && i >= 0 ? toks[i].start : (int)len);
}

/* Index of the token just past n's subtree (children follow their parent contiguously, and
 * `size` counts direct children, so the walk counts the tokens still owed). */
static inline int32_t skip(const jsmntok_t *toks, int32_t n)
{
    int32_t pending = 1;

    while (pending > 0) {
        pending += toks[n].size - 1;
        n++;
    }
    return n;
}

/* ------------------------------------------------------------------------------------------ */
/* jansson: where a value stands in the text                                                  */

/*
 * jansson keeps no positions, and its tree has lost what the decoders must read exactly: a
 * number's literal (only a double is kept) and whether a string was escaped. So a jansson node
 * also carries the offset of its value in the text (jnode.tok), found by the short walks below
 * over text jansson has already validated, and scalars are read from that text as the jsmn path
 * reads them. Member lookup compares the raw key text, as the jsmn path does.
 */

/* The first offset at or after p that is not whitespace. */
static int32_t txt_ws(const char *s, int32_t n, int32_t p)
{
    while (p < n && is_ws(s[p]))
        p++;
    return p;
}

/* The offset just past the value that starts at p (valid JSON). */
static int32_t txt_skip(const char *s, int32_t n, int32_t p)
{
    int32_t depth = 0;

    if (p >= n)
        return n;
    if (s[p] != '"' && s[p] != '{' && s[p] != '[') {
        while (p < n && !is_ws(s[p]) && s[p] != ',' && s[p] != ']' && s[p] != '}')
            p++;
        return p;
    }
    while (p < n) {
        char c = s[p++];
        if (c == '"') {
            while (p < n && s[p] != '"')
                p += s[p] == '\\' ? 2 : 1;
            p++;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            depth--;
        }
        if (depth == 0)
            break;
    }
    return p < n ? p : n;
}

/* The offset of the element after the one at p in an array or object: past it, its comma and
 * the whitespace around them (at the closing bracket when it was the last). */
static int32_t txt_next(const char *s, int32_t n, int32_t p)
{
    p = txt_ws(s, n, txt_skip(s, n, p));
    if (p < n && s[p] == ',')
        p = txt_ws(s, n, p + 1);
    return p;
}

/* The raw text of the scalar at p: a string's bytes between its quotes (escapes as they are),
 * or a number's literal. */
static void txt_scalar(const char *s, int32_t n, int32_t p, const char **v, size_t *len)
{
    int32_t end = txt_skip(s, n, p);

    if (p < n && s[p] == '"') {
        *v = s + p + 1;
        *len = (size_t)(end - p - 2);
    } else {
        *v = s + p;
        *len = (size_t)(end - p);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Parsing                                                                                    */

/* jsmn: tokenizes and checks text. */
static int parse_jsmn(struct json_doc *d, const char *text, size_t len, struct jnode *root)
{
    jsmn_parser p;
    int r;

    d->text = text;
    d->len = (int32_t)len;
    d->ntok = 0;
    jsmn_init(&p);
    r = jsmn_parse(&p, text, len, d->toks, d->max_tokens);
    if (r == JSMN_ERROR_NOMEM)
        return err_set(-E2BIG, "message has more than %u JSON tokens", d->max_tokens);
    if (r < 0 && memchr(text, '\0', len))
        return err_set(-EBADMSG, "not valid JSON: NUL byte at %td",
                       (const char *)memchr(text, '\0', len) - text);
    if (r < 0)
        return err_set(-EBADMSG, "not valid JSON: %s at byte %u",
                       r == JSMN_ERROR_PART ? "truncated" : "bad character", p.pos);
    d->ntok = r;
    r = json_check(d, text, len);
    if (r < 0) {
        d->ntok = 0;
        return r;
    }
    root->tok = 0;
    root->jv = NULL;
    return 0;
}

/* jansson: loads the tree, mapping jansson's error kinds onto ours. */
static int parse_jansson(struct json_doc *d, const char *text, size_t len, struct jnode *root)
{
    json_error_t e;
    const char *nul;
    int code;

    d->text = text;
    d->len = (int32_t)len;
    /* jansson 2.14 drops a NUL that follows a number or a literal ("[1\0]" loads as [1]);
     * refuse it as the jsmn path does, so both read the same grammar. */
    nul = memchr(text, '\0', len);
    if (nul)
        return err_set(-EBADMSG, "not valid JSON: NUL byte at %td", nul - text);
    d->root = json_loadb(text, len, 0, &e);
    if (!d->root) {
        switch (json_error_code(&e)) {
        case json_error_out_of_memory:
            code = -ENOMEM;
            break;
        case json_error_numeric_overflow:
            code = -ERANGE;
            break;
        default:
            code = -EBADMSG;
            break;
        }
        return err_set(code, "not valid JSON: %s at byte %d", e.text, e.position);
    }
    root->tok = txt_ws(text, d->len, 0);
    root->jv = d->root;
    return 0;
}

int json_parse(struct json_doc *d, const char *text, size_t len, struct jnode *root)
{
    *root = json_absent();
    if (d->root) {
        json_decref(d->root);
        d->root = NULL;
    }
    if (len > INT32_MAX / 2)
        return err_set(-E2BIG, "message of %zu bytes is too big to parse", len);
    if (d->backend == VDEC_JSMN)
        return parse_jsmn(d, text, len, root);
    return parse_jansson(d, text, len, root);
}

/* ------------------------------------------------------------------------------------------ */
/* Access                                                                                     */

enum json_kind json_kind(const struct json_doc *d, struct jnode n)
{
    if (n.tok < 0)
        return JK_ABSENT;
    if (d->backend == VDEC_JSMN) {
        const jsmntok_t *t = &d->toks[n.tok];
        switch (t->type) {
        case JSMN_OBJECT:
            return JK_OBJECT;
        case JSMN_ARRAY:
            return JK_ARRAY;
        case JSMN_STRING:
            return JK_STRING;
        default:
            switch (d->text[t->start]) {
            case 't':
            case 'f':
                return JK_BOOL;
            case 'n':
                return JK_NULL;
            default:
                return JK_NUMBER;
            }
        }
    }
    switch (json_typeof((const json_t *)n.jv)) {
    case JSON_OBJECT:
        return JK_OBJECT;
    case JSON_ARRAY:
        return JK_ARRAY;
    case JSON_STRING:
        return JK_STRING;
    case JSON_INTEGER:
    case JSON_REAL:
        return JK_NUMBER;
    case JSON_TRUE:
    case JSON_FALSE:
        return JK_BOOL;
    default:
        return JK_NULL;
    }
}

uint32_t json_count(const struct json_doc *d, struct jnode n)
{
    if (n.tok < 0)
        return 0;
    if (d->backend == VDEC_JSMN) {
        const jsmntok_t *t = &d->toks[n.tok];
        return t->type == JSMN_OBJECT || t->type == JSMN_ARRAY ? (uint32_t)t->size : 0;
    }
    if (json_is_array((const json_t *)n.jv))
        return (uint32_t)json_array_size((const json_t *)n.jv);
    if (json_is_object((const json_t *)n.jv))
        return (uint32_t)json_object_size((const json_t *)n.jv);
    return 0;
}

void json_collect(const struct json_doc *d, struct jnode obj, const struct json_key *keys,
                  size_t nkeys, struct jnode *out)
{
    for (size_t k = 0; k < nkeys; k++)
        out[k] = json_absent();
    if (obj.tok < 0)
        return;
    if (d->backend == VDEC_JSMN) {
        const jsmntok_t *toks = d->toks;
        int32_t n, i;
        if (toks[obj.tok].type != JSMN_OBJECT)
            return;
        n = toks[obj.tok].size;
        i = obj.tok + 1;
        /* The search for each member starts after the previous match, so members in the
         * order of keys[] (the venue's own order) match at the first comparison. */
        size_t k = 0;
        while (n-- > 0) {
            const char *ks = d->text + toks[i].start;
            uint32_t kl = (uint32_t)(toks[i].end - toks[i].start);
            for (size_t tried = 0; tried < nkeys; tried++, k = k + 1 < nkeys ? k + 1 : 0) {
                /* Most venue keys are one character: compare that before memcmp. */
                if (keys[k].len == kl &&
                    (kl == 0 || (keys[k].s[0] == ks[0] &&
                                 (kl == 1 || memcmp(keys[k].s + 1, ks + 1, kl - 1) == 0)))) {
                    out[k].tok = i + 1;
                    k = k + 1 < nkeys ? k + 1 : 0;
                    break;
                }
            }
            i = skip(toks, i + 1);
        }
        return;
    }
    if (!json_is_object((const json_t *)obj.jv))
        return;
    /* One walk over the members' raw text, the last match winning, as above; a key given with
     * escapes matches no key here either. A raw key without escapes is its own unescaped form,
     * so jansson finds its value under it. */
    {
        const char *s = d->text;
        int32_t n = d->len, p = txt_ws(s, n, obj.tok + 1);
        while (p < n && s[p] == '"') {
            const char *ks;
            size_t kl;
            int32_t v;
            txt_scalar(s, n, p, &ks, &kl);
            v = txt_ws(s, n, txt_skip(s, n, p));
            v = txt_ws(s, n, v + 1); /* past the ':' */
            for (size_t k = 0; k < nkeys; k++) {
                if (keys[k].len == kl && memcmp(keys[k].s, ks, kl) == 0) {
                    json_t *jv = json_object_getn((const json_t *)obj.jv, ks, kl);
                    if (jv) {
                        out[k].tok = v;
                        out[k].jv = jv;
                    }
                    break;
                }
            }
            p = txt_next(s, n, v);
        }
    }
}

struct jnode json_get(const struct json_doc *d, struct jnode obj, const char *key)
{
    struct json_key k = {key, (uint32_t)strlen(key)};
    struct jnode out;

    json_collect(d, obj, &k, 1, &out);
    return out;
}

void json_iter_init(const struct json_doc *d, struct jnode arr, struct json_iter *it)
{
    it->arr = arr;
    it->idx = 0;
    it->n = json_kind(d, arr) == JK_ARRAY ? json_count(d, arr) : 0;
    /* jsmn: the next element's token; jansson: its offset in the text. */
    it->next = arr.tok + 1;
    if (d->backend == VDEC_JANSSON && it->n > 0)
        it->next = txt_ws(d->text, d->len, arr.tok + 1);
}

bool json_iter_next(const struct json_doc *d, struct json_iter *it, struct jnode *val)
{
    if (it->idx >= it->n)
        return false;
    if (d->backend == VDEC_JSMN) {
        val->tok = it->next;
        val->jv = NULL;
        it->next = skip(d->toks, it->next);
    } else {
        val->tok = it->next;
        val->jv = json_array_get((const json_t *)it->arr.jv, it->idx);
        it->next = txt_next(d->text, d->len, it->next);
    }
    it->idx++;
    return true;
}

int json_str(const struct json_doc *d, struct jnode n, const char **s, size_t *len)
{
    if (n.tok < 0)
        return -EBADMSG;
    if (d->backend == VDEC_JSMN) {
        const jsmntok_t *t = &d->toks[n.tok];
        if (t->type != JSMN_STRING)
            return -EBADMSG;
        *s = d->text + t->start;
        *len = (size_t)(t->end - t->start);
        return 0;
    }
    if (!json_is_string((const json_t *)n.jv))
        return -EBADMSG;
    *s = json_string_value((const json_t *)n.jv);
    *len = json_string_length((const json_t *)n.jv);
    return 0;
}

int json_name(const struct json_doc *d, struct jnode n, const char **s, size_t *len)
{
    int rc = json_str(d, n, s, len);

    if (rc < 0)
        return rc;
    /* jansson: the raw text, so that an escape is refused on both paths. */
    if (d->backend == VDEC_JANSSON)
        txt_scalar(d->text, d->len, n.tok, s, len);
    for (size_t i = 0; i < *len; i++) {
        unsigned char c = (unsigned char)(*s)[i];
        if (c < 0x20 || c >= 0x7f || c == '\\')
            return -EBADMSG;
    }
    return 0;
}

/* Parses the integer text s[0..n) (already a valid JSON number): -EBADMSG if it has a
 * fraction or exponent, -ERANGE if it is outside int64. Up to 18 digits cannot overflow, so
 * only longer numbers take the checked loop. */
static int parse_int64(const char *s, int32_t n, int64_t *v)
{
    bool neg = s[0] == '-';
    uint64_t acc = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    int32_t i = neg;

    if (n - i <= 18) {
        for (; i < n; i++) {
            if (s[i] < '0' || s[i] > '9')
                return -EBADMSG;
            acc = acc * 10 + (uint64_t)(s[i] - '0');
        }
    } else {
        for (; i < n; i++) {
            unsigned dgt;
            if (s[i] < '0' || s[i] > '9')
                return -EBADMSG;
            dgt = (unsigned)(s[i] - '0');
            if (acc > (lim - dgt) / 10)
                return -ERANGE;
            acc = acc * 10 + dgt;
        }
    }
    *v = neg ? (int64_t)(0 - acc) : (int64_t)acc;
    return 0;
}

int json_int64(const struct json_doc *d, struct jnode n, int64_t *v)
{
    if (n.tok < 0)
        return -EBADMSG;
    if (d->backend == VDEC_JSMN) {
        const jsmntok_t *t = &d->toks[n.tok];
        const char *s = d->text + t->start;
        if (t->type != JSMN_PRIMITIVE || s[0] == 't' || s[0] == 'f' || s[0] == 'n')
            return -EBADMSG;
        return parse_int64(s, t->end - t->start, v);
    }
    if (!json_is_integer((const json_t *)n.jv))
        return -EBADMSG;
    *v = (int64_t)json_integer_value((const json_t *)n.jv);
    return 0;
}

int json_bool(const struct json_doc *d, struct jnode n, bool *v)
{
    if (n.tok < 0)
        return -EBADMSG;
    if (d->backend == VDEC_JSMN) {
        const jsmntok_t *t = &d->toks[n.tok];
        char c = d->text[t->start];
        if (t->type != JSMN_PRIMITIVE || (c != 't' && c != 'f'))
            return -EBADMSG;
        *v = c == 't';
        return 0;
    }
    if (!json_is_boolean((const json_t *)n.jv))
        return -EBADMSG;
    *v = json_is_true((const json_t *)n.jv);
    return 0;
}

/* Maps mdf_dec_parse's result onto ours. */
static int dec_from_text(const char *s, size_t len, struct mdf_dec *v)
{
    int rc = mdf_dec_parse(s, len, v);

    if (rc == -ERANGE)
        return -ERANGE;
    return rc < 0 ? -EBADMSG : 0;
}

int json_dec(const struct json_doc *d, struct jnode n, struct mdf_dec *v)
{
    if (n.tok < 0)
        return -EBADMSG;
    if (d->backend == VDEC_JSMN) {
        const jsmntok_t *t = &d->toks[n.tok];
        const char *s = d->text + t->start;
        if (t->type == JSMN_STRING ||
            (t->type == JSMN_PRIMITIVE && s[0] != 't' && s[0] != 'f' && s[0] != 'n'))
            return dec_from_text(s, (size_t)(t->end - t->start), v);
        return -EBADMSG;
    }
    /* jansson: from the raw text too, never from its double or its unescaped string. */
    if (json_is_string((const json_t *)n.jv) || json_is_number((const json_t *)n.jv)) {
        const char *s;
        size_t len;
        txt_scalar(d->text, d->len, n.tok, &s, &len);
        return dec_from_text(s, len, v);
    }
    return -EBADMSG;
}

/* Appends c to buf if there is room for it and the NUL. */
static inline void text_put(char *buf, size_t cap, size_t *len, char c)
{
    if (*len + 1 < cap)
        buf[(*len)++] = c;
}

/* Value of the hex digit c, or -1. */
static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

size_t json_text(const struct json_doc *d, struct jnode n, char *buf, size_t cap)
{
    static const char *const kinds[] = {"absent", "null",  "bool",  "number",
                                        "string", "array", "object"};
    enum json_kind k = json_kind(d, n);
    const char *s;
    size_t len, out = 0, i = 0;

    if (cap == 0)
        return 0;
    if (k != JK_STRING || json_str(d, n, &s, &len) < 0) {
        snprintf(buf, cap, "%s", kinds[k]);
        return strlen(buf);
    }
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\\' && d->backend == VDEC_JSMN && i + 1 < len) {
            char e = s[i + 1];
            i += 2;
            if (e == 'u' && i + 4 <= len) {
                int cp = 0;
                for (int j = 0; j < 4; j++)
                    cp = cp * 16 + hexval(s[i + j]);
                i += 4;
                /* A low surrogate belongs to the '?' written for its high surrogate. */
                if (cp >= 0xdc00 && cp <= 0xdfff)
                    continue;
                text_put(buf, cap, &out, cp >= 0x20 && cp < 0x7f ? (char)cp : '?');
            } else if (e == '"' || e == '\\' || e == '/') {
                text_put(buf, cap, &out, e);
            } else {
                text_put(buf, cap, &out, '?');
            }
        } else if (c >= 0x80) {
            /* One '?' per UTF-8 sequence: continuation bytes are skipped. */
            if (c >= 0xc0)
                text_put(buf, cap, &out, '?');
            i++;
        } else {
            text_put(buf, cap, &out, c >= 0x20 && c < 0x7f ? (char)c : '?');
            i++;
        }
    }
    buf[out] = '\0';
    return out;
}
