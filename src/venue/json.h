/*
 * JSON access for the venue decoders, with two parsers behind one interface (enum
 * vdec_backend): jsmn, which tokenizes the message in place into a token array allocated once
 * at init (no allocation per message), and jansson, which builds a tree (allocates per message;
 * kept for comparison and as a reference).
 *
 * Design: a value is a struct jnode passed by value: a token index for jsmn (so a lookup is an
 * array walk over the message's own tokens) or a borrowed json_t pointer for jansson. Objects
 * are read with json_collect(), which walks an object's members once and picks out every key
 * the caller names, so decoding a message costs one pass over its members, not one per field.
 * Scalars are read straight from the message text: strings as raw spans (never unescaped, so a
 * name or decimal that needs unescaping is refused), integers from their digits (exact and
 * range-checked, never through a double) and decimals through mdf_dec_parse().
 *
 * Strictness: the jsmn path checks the token stream after jsmn has run (jsmn alone accepts
 * missing commas and bad literals), so both backends accept the same JSON grammar, except that
 * the jsmn path lets raw control characters and invalid UTF-8 inside strings through (neither
 * can form a valid name or decimal, and text copies mask them), and jansson refuses a whole
 * message with a number beyond int64 (an integer) or beyond a double (a fraction) anywhere in
 * it, where the jsmn path refuses only the field that reads it. Both limit nesting to
 * JSON_MAX_DEPTH and refuse a top level that is not an object or an array.
 *
 * One meaning on both paths: decimals, names and object keys are read from the message's own
 * text, never from a parser's conversion of it. A decimal given as a JSON number is read exactly
 * from its literal (0.1 is 1e-1, 1.00 keeps its two places: no double in between), as from a
 * string; a string with an escape is no decimal and no name ("\u002e" is not a point, "\u0031"
 * not a digit), and a key spelt with an escape matches no key. The jansson path gets there by
 * keeping each value's offset in the text beside its tree node (jansson keeps only a double
 * for a fraction and only the unescaped form of a string). One difference is left: when an
 * object repeats a key, once escaped, jansson's tree holds the value of the last spelling,
 * which only json_int64() and json_bool() read.
 *
 * Nothing here sets err_set() except json_parse(); the decoder names the field.
 */
#ifndef MDF_VENUE_JSON_H
#define MDF_VENUE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mdfeed/mdfeed.h>

#include "venue/venue.h"

#define JSON_MAX_DEPTH 2048 /* deepest nesting accepted (jansson's compiled-in limit) */

/* What a value is. */
enum json_kind {
    JK_ABSENT = 0, /* no such value (missing member, past the end) */
    JK_NULL,       /* null */
    JK_BOOL,       /* true or false */
    JK_NUMBER,     /* a number */
    JK_STRING,     /* a string */
    JK_ARRAY,      /* an array */
    JK_OBJECT,     /* an object */
};

/* A value of the current document. Valid until the next json_parse() on the same document. */
struct jnode {
    int32_t tok;    /* jsmn: token index; jansson: offset of the value in the text; < 0 when
                       absent */
    const void *jv; /* jansson: the json_t (borrowed from the document); jsmn: NULL */
};

/* An object key for json_collect(); build with JSON_KEY("name"). */
struct json_key {
    const char *s; /* the key text (need not be NUL-terminated) */
    uint32_t len;  /* its length */
};
#define JSON_KEY(lit)                                                                              \
    {                                                                                              \
        lit, sizeof(lit) - 1                                                                       \
    }

/* Iteration over an array's elements (json_iter_init, json_iter_next). */
struct json_iter {
    struct jnode arr; /* the array */
    int32_t next;     /* jsmn: token index of the next element */
    uint32_t idx;     /* elements returned so far */
    uint32_t n;       /* element count */
};

/* One parser with its preallocated storage. Opaque. */
struct json_doc;

/* Allocates a document for backend b (control path). For jsmn, max_tokens bounds the tokens of
 * one message (a message that needs more is refused with -E2BIG). Returns NULL with err_set()
 * on failure. */
struct json_doc *json_doc_new(enum vdec_backend b, uint32_t max_tokens);

/* Frees d and the tree of its last message. NULL is fine. */
void json_doc_free(struct json_doc *d);

/* The backend d was made with. */
enum vdec_backend json_doc_backend(const struct json_doc *d);

/* Parses text[0..len) (no NUL needed; the text must outlive the nodes, because the jsmn path
 * points into it) and sets *root to its top-level object or array. Invalidates the nodes of
 * the previous message. Returns 0, -EBADMSG (not JSON, top level not an object or array, or
 * nested deeper than JSON_MAX_DEPTH), -ERANGE (jansson: an integer outside int64), -E2BIG
 * (jsmn: more tokens than max_tokens) or -ENOMEM (jansson), with err_set(). */
int json_parse(struct json_doc *d, const char *text, size_t len, struct jnode *root);

/* True if n is a value (not JK_ABSENT). */
static inline bool json_present(struct jnode n)
{
    return n.tok >= 0;
}

/* An absent node. */
static inline struct jnode json_absent(void)
{
    struct jnode n = {-1, NULL};
    return n;
}

/* The kind of n (JK_ABSENT if absent). */
enum json_kind json_kind(const struct json_doc *d, struct jnode n);

/* Members of an object or elements of an array; 0 for anything else. */
uint32_t json_count(const struct json_doc *d, struct jnode n);

/* Walks the members of object obj once and sets out[i] to the value of keys[i] (absent if the
 * key is missing; the last one wins if a key repeats). All absent if obj is not an object. */
void json_collect(const struct json_doc *d, struct jnode obj, const struct json_key *keys,
                  size_t nkeys, struct jnode *out);

/* The value of member key (NUL-terminated) of object obj, or an absent node. */
struct jnode json_get(const struct json_doc *d, struct jnode obj, const char *key);

/* Starts an iteration over the elements of arr (none if arr is not an array). */
void json_iter_init(const struct json_doc *d, struct jnode arr, struct json_iter *it);

/* Sets *val to the next element and returns true, or returns false at the end. */
bool json_iter_next(const struct json_doc *d, struct json_iter *it, struct jnode *val);

/* Sets *s, *len to a string's text: the raw bytes between the quotes for jsmn (escapes left
 * as they are), the unescaped text for jansson (borrowed from the document). Returns 0 or
 * -EBADMSG if n is not a string. */
int json_str(const struct json_doc *d, struct jnode n, const char **s, size_t *len);

/* As json_str(), but the string must be printable ASCII with no escapes (a name, an enum
 * value, a decimal), on both paths: *s, *len are the raw text between the quotes. Returns 0 or
 * -EBADMSG. */
int json_name(const struct json_doc *d, struct jnode n, const char **s, size_t *len);

/* Reads an integer number exactly. Returns 0, -EBADMSG (not a number, or has a fraction or an
 * exponent) or -ERANGE (outside int64). */
int json_int64(const struct json_doc *d, struct jnode n, int64_t *v);

/* Reads true or false. Returns 0 or -EBADMSG. */
int json_bool(const struct json_doc *d, struct jnode n, bool *v);

/* Reads a decimal from a string or a number exactly, from its text in the message
 * (mdf_dec_parse), the same on both paths. Returns 0, -EBADMSG (not a decimal: the wrong kind,
 * or a string with an escape) or -ERANGE (does not fit struct mdf_dec). */
int json_dec(const struct json_doc *d, struct jnode n, struct mdf_dec *v);

/* Copies a string, unescaped, into buf[0..cap) with a NUL, cut to fit, with every character
 * that is not printable ASCII written as one '?'. A non-string value is copied as its kind's
 * name ("null", "number", ...). Returns the length written. */
size_t json_text(const struct json_doc *d, struct jnode n, char *buf, size_t cap);

#endif /* MDF_VENUE_JSON_H */
