/*
 * Field readers shared by the Bybit and OKX decoders (see vfield.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "venue/vfield.h"

int vf_err(const struct vfctx *c, int rc, const char *fmt, ...)
{
    char msg[200];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (c->item && c->idx >= 0)
        return err_set(rc, "%s: %s %d: %s", c->what, c->item, (int)c->idx, msg);
    if (c->item)
        return err_set(rc, "%s: %s: %s", c->what, c->item, msg);
    return err_set(rc, "%s: %s", c->what, msg);
}

bool vf_empty(const struct vfctx *c, struct jnode n)
{
    const char *s;
    size_t len;

    switch (json_kind(c->j, n)) {
    case JK_ABSENT:
    case JK_NULL:
        return true;
    case JK_STRING:
        return json_str(c->j, n, &s, &len) == 0 && len == 0;
    default:
        return false;
    }
}

int vf_range(const struct vfctx *c, const struct vbad *bad)
{
    return vf_err(c, -ERANGE, "%s: %s", bad->field, bad->why);
}

/* Reads a present decimal and checks it against b. */
static int dec_read(const struct vfctx *c, struct jnode n, const char *f, enum vbound b,
                    struct mdf_dec *v)
{
    struct vbad bad;
    int rc = json_dec(c->j, n, v);

    if (rc < 0)
        return vf_err(c, rc, "%s: %s", f, rc == -ERANGE ? "out of range" : "not a decimal");
    if (vcheck_dec(f, *v, b, &bad) < 0)
        return vf_range(c, &bad);
    return 0;
}

int vf_dec(const struct vfctx *c, struct jnode n, const char *f, enum vbound b, struct mdf_dec *v)
{
    if (vf_empty(c, n))
        return vf_err(c, -EBADMSG, "missing %s", f);
    return dec_read(c, n, f, b, v);
}

int vf_dec_opt(const struct vfctx *c, struct jnode n, const char *f, enum vbound b,
               struct mdf_dec *v, bool *have)
{
    struct mdf_dec x;
    int rc;

    *have = false;
    if (vf_empty(c, n))
        return 0;
    if ((rc = dec_read(c, n, f, b, &x)) < 0)
        return rc;
    *v = x;
    *have = true;
    return 0;
}

int vf_parse_int(const char *s, size_t len, int64_t *v)
{
    bool neg = len > 0 && s[0] == '-';
    uint64_t u = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    size_t i = neg;

    if (i >= len)
        return -EBADMSG;
    for (; i < len; i++) {
        unsigned dgt = (unsigned)s[i] - '0';
        if (dgt > 9)
            return -EBADMSG;
        if (u > (lim - dgt) / 10)
            return -ERANGE;
        u = u * 10 + dgt;
    }
    *v = neg ? (int64_t)(0 - u) : (int64_t)u;
    return 0;
}

/* Reads a present integer: a JSON integer or a string of digits. */
static int int_read(const struct vfctx *c, struct jnode n, const char *f, int64_t min, int64_t max,
                    int64_t *v)
{
    const char *s;
    size_t len;
    int64_t x = 0;
    int rc;

    if (json_kind(c->j, n) == JK_STRING)
        rc = json_name(c->j, n, &s, &len) < 0 ? -EBADMSG : vf_parse_int(s, len, &x);
    else
        rc = json_int64(c->j, n, &x);
    if (rc < 0)
        return vf_err(c, rc, "%s: %s", f, rc == -ERANGE ? "out of range" : "not an integer");
    if (x < min || x > max)
        return vf_err(c, -ERANGE, "%s: %lld out of range", f, (long long)x);
    *v = x;
    return 0;
}

int vf_int(const struct vfctx *c, struct jnode n, const char *f, int64_t min, int64_t max,
           int64_t *v)
{
    if (vf_empty(c, n))
        return vf_err(c, -EBADMSG, "missing %s", f);
    return int_read(c, n, f, min, max, v);
}

int vf_int_opt(const struct vfctx *c, struct jnode n, const char *f, int64_t min, int64_t max,
               int64_t *v, bool *have)
{
    int rc;

    if (have)
        *have = false;
    if (vf_empty(c, n))
        return 0;
    if ((rc = int_read(c, n, f, min, max, v)) < 0)
        return rc;
    if (have)
        *have = true;
    return 0;
}

int vf_ms(const struct vfctx *c, struct jnode n, const char *f, int64_t *ns)
{
    int64_t ms = 0;
    int rc = vf_int(c, n, f, 0, VF_MS_MAX, &ms);

    if (rc < 0)
        return rc;
    *ns = ms * 1000000;
    return 0;
}

int vf_name(const struct vfctx *c, struct jnode n, const char *f, const char **s, size_t *len)
{
    *s = "";
    *len = 0;
    if (!json_present(n))
        return vf_err(c, -EBADMSG, "missing %s", f);
    if (json_name(c->j, n, s, len) < 0)
        return vf_err(c, -EBADMSG, "%s: not a plain ASCII string", f);
    return 0;
}

bool vf_is(const char *s, size_t len, const char *lit)
{
    return strlen(lit) == len && memcmp(s, lit, len) == 0;
}
