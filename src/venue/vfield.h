/*
 * Field readers shared by the decoders of venues that send JSON objects with string-typed
 * numbers (Bybit v5, OKX v5): each reads one member, checks its type and range and names the
 * field in the err_set() message ("bybit publicTrade: trade 3: p: 0 is not positive").
 *
 * Design: a struct vfctx carries the document and the message's name; every reader takes the
 * field's name, so no decoder formats its own errors. Numbers are read exactly from their text
 * (json_dec, or digits for integers) whether the venue sent a JSON string or a JSON number.
 * Optional fields treat an absent member, null and the empty string "" (both venues send "" for
 * "not applicable") as absent.
 */
#ifndef MDF_VENUE_VFIELD_H
#define MDF_VENUE_VFIELD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "venue/json.h"
#include "venue/vcheck.h"

#define VF_MS_MAX (INT64_MAX / 1000000) /* the largest ms time whose ns value fits int64 */

/* One message being read. */
struct vfctx {
    const struct json_doc *j; /* its document (borrowed) */
    const char *what;         /* message kind named in errors ("okx books") */
    const char *item;         /* item being read ("level"), NULL when none */
    int32_t idx;              /* its index, -1 for none */
};

/* Sets an error "<what>: <item> <idx>: <text>" and returns rc. */
int vf_err(const struct vfctx *c, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* True if n is absent, null or "". */
bool vf_empty(const struct vfctx *c, struct jnode n);

/* Required decimal within b (-EBADMSG missing or not a decimal, -ERANGE out of range). */
int vf_dec(const struct vfctx *c, struct jnode n, const char *f, enum vbound b, struct mdf_dec *v);

/* Optional decimal: empty leaves *v alone and *have false. Same returns. */
int vf_dec_opt(const struct vfctx *c, struct jnode n, const char *f, enum vbound b,
               struct mdf_dec *v, bool *have);

/* Required integer (number or digit string) in [min, max]. */
int vf_int(const struct vfctx *c, struct jnode n, const char *f, int64_t min, int64_t max,
           int64_t *v);

/* Optional integer: empty leaves *v alone and *have false (have may be NULL). */
int vf_int_opt(const struct vfctx *c, struct jnode n, const char *f, int64_t min, int64_t max,
               int64_t *v, bool *have);

/* Required ms time (0..VF_MS_MAX) into ns. */
int vf_ms(const struct vfctx *c, struct jnode n, const char *f, int64_t *ns);

/* Required plain ASCII string (json_name): *s, *len borrowed from the message. */
int vf_name(const struct vfctx *c, struct jnode n, const char *f, const char **s, size_t *len);

/* True if s[0..len) is the NUL-terminated lit. */
bool vf_is(const char *s, size_t len, const char *lit);

/* A range error from vcheck.h: "<what>: <field>: <why>". */
int vf_range(const struct vfctx *c, const struct vbad *bad);

/* Parses a decimal integer text s[0..len) ("-12") exactly. Returns 0, -EBADMSG or -ERANGE. */
int vf_parse_int(const char *s, size_t len, int64_t *v);

#endif /* MDF_VENUE_VFIELD_H */
