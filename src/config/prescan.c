/*
 * The pre-scan of a configuration file libconfig refused (see prescan.h): a small lexer and a
 * recursive-descent reading of libconfig's grammar that stops at the first token that does not
 * fit, or at the first name set twice in one group. It is lenient where libconfig may be strict
 * (a trailing comma in a list), so when it finds nothing the caller keeps libconfig's own
 * message; it never decides whether a file is valid.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/prescan.h"

enum tkind {
    T_EOF,   /* end of the file */
    T_NAME,  /* a setting name */
    T_BOOL,  /* true or false, any case */
    T_NUM,   /* an integer or float */
    T_STR,   /* a quoted string */
    T_PUNCT, /* one of = : ; , { } [ ] ( ) */
    T_BAD,   /* anything else (an unterminated string, a stray character, "1m") */
};

struct tok {
    enum tkind k;  /* kind */
    const char *p; /* its text in the file */
    size_t n;      /* its length */
    int line;      /* line it starts on, 1-based */
};

struct scan {
    const char *s, *end; /* the rest of the file */
    int line;            /* line of s */
    struct tok t;        /* the current token */
    int rc;              /* 1 when a problem was found, -ENOMEM */
    int *line_out;       /* the caller's line */
    char *msg;           /* the caller's message buffer */
    size_t cap;          /* its size */
};

/* A name seen in the group being read. */
struct seen {
    const char *p; /* its text */
    size_t n;      /* its length */
    int line;      /* its line */
};

static bool is_word_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '*' || c == '.' || c == '+' || c == '-';
}

/* True if w[0..n) is a libconfig name: [A-Za-z*][-A-Za-z0-9_*]*. */
static bool is_name(const char *w, size_t n)
{
    if (!((w[0] >= 'A' && w[0] <= 'Z') || (w[0] >= 'a' && w[0] <= 'z') || w[0] == '*'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (w[i] == '.' || w[i] == '+')
            return false;
    return true;
}

/* True if w[0..n) is a libconfig number: decimal, hex (0x), binary (0b) or octal (0o/0q)
 * integers with an optional L or LL, or a float. */
static bool is_number(const char *w, size_t n)
{
    char buf[64], *e;

    if (n >= sizeof(buf))
        return false;
    memcpy(buf, w, n);
    buf[n] = '\0';
    if (n > 2 && buf[0] == '0' && strchr("bBoOqQ", buf[1])) {
        strtoull(buf + 2, &e, buf[1] == 'b' || buf[1] == 'B' ? 2 : 8);
        return e > buf + 2 && (!*e || !strcmp(e, "L") || !strcmp(e, "LL"));
    }
    strtoll(buf, &e, 0);
    if (e > buf && (!*e || !strcmp(e, "L") || !strcmp(e, "LL")))
        return true;
    strtod(buf, &e);
    return e > buf && !*e && !strpbrk(buf, "xXnN"); /* not hex floats, inf or nan */
}

/* Reads the next token into sc->t, skipping blanks, comments and @include lines. */
static void next(struct scan *sc)
{
    const char *s = sc->s, *end = sc->end;

    for (;;) {
        while (s < end && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n' || *s == '\f')) {
            if (*s == '\n')
                sc->line++;
            s++;
        }
        if (s < end && (*s == '#' || (*s == '/' && s + 1 < end && s[1] == '/') ||
                        (*s == '@' && end - s >= 8 && !strncmp(s, "@include", 8)))) {
            while (s < end && *s != '\n')
                s++;
            continue;
        }
        if (s + 1 < end && s[0] == '/' && s[1] == '*') {
            for (s += 2; s < end && !(s[0] == '*' && s + 1 < end && s[1] == '/'); s++)
                if (*s == '\n')
                    sc->line++;
            s = s < end ? s + 2 : end;
            continue;
        }
        break;
    }
    sc->t.p = s;
    sc->t.line = sc->line;
    if (s >= end) {
        sc->t.k = T_EOF;
        sc->t.n = 0;
    } else if (strchr("=:;,{}[]()", *s)) {
        sc->t.k = T_PUNCT;
        sc->t.n = 1;
        s++;
    } else if (*s == '"') {
        /* A string may run over lines; one never closed ends at the end of the file, where
         * libconfig reports it. */
        for (s++; s < end && *s != '"'; s++) {
            if (*s == '\\' && s + 1 < end)
                s++;
            if (*s == '\n')
                sc->line++;
        }
        sc->t.k = s < end ? T_STR : T_BAD;
        if (sc->t.k == T_STR)
            s++;
        else
            sc->t.line = sc->line;
        sc->t.n = (size_t)(s - sc->t.p);
    } else if (is_word_char(*s)) {
        while (s < end && is_word_char(*s))
            s++;
        sc->t.n = (size_t)(s - sc->t.p);
        if ((sc->t.n == 4 && !strncasecmp(sc->t.p, "true", 4)) ||
            (sc->t.n == 5 && !strncasecmp(sc->t.p, "false", 5)))
            sc->t.k = T_BOOL;
        else if (is_name(sc->t.p, sc->t.n))
            sc->t.k = T_NAME;
        else if (is_number(sc->t.p, sc->t.n))
            sc->t.k = T_NUM;
        else
            sc->t.k = T_BAD;
    } else {
        /* A stray character, with the rest of its UTF-8 sequence. */
        s++;
        while (s < end && (*s & 0xc0) == 0x80)
            s++;
        sc->t.k = T_BAD;
        sc->t.n = (size_t)(s - sc->t.p);
    }
    sc->s = s;
}

static bool is_punct(const struct scan *sc, char c)
{
    return sc->t.k == T_PUNCT && sc->t.p[0] == c;
}

/* Records the syntax error at the current token; `expected` says what would have fitted. */
static bool fail(struct scan *sc, const char *expected)
{
    const char *nl = memchr(sc->t.p, '\n', sc->t.n);
    size_t len = nl ? (size_t)(nl - sc->t.p) : sc->t.n;
    int n = len > 40 ? 40 : (int)len;
    const char *more = len < sc->t.n || len > 40 ? "..." : "";

    if (sc->t.k == T_EOF)
        snprintf(sc->msg, sc->cap, "syntax error at the end of the file (expected %s)", expected);
    else if (sc->t.k == T_STR)
        snprintf(sc->msg, sc->cap, "syntax error at the string %.*s%s (expected %s)", n, sc->t.p,
                 more, expected);
    else if (sc->t.k == T_BAD && sc->t.p[0] == '"')
        snprintf(sc->msg, sc->cap, "syntax error: the string %.*s%s is never closed", n, sc->t.p,
                 more);
    else
        snprintf(sc->msg, sc->cap, "syntax error at \"%.*s\"%s (expected %s)", n, sc->t.p, more,
                 expected);
    *sc->line_out = sc->t.line;
    sc->rc = 1;
    return false;
}

static bool is_scalar(const struct scan *sc)
{
    return sc->t.k == T_BOOL || sc->t.k == T_NUM || sc->t.k == T_STR;
}

/* A scalar (adjacent strings are one value). */
static void scalar(struct scan *sc)
{
    if (sc->t.k == T_STR)
        while (sc->t.k == T_STR)
            next(sc);
    else
        next(sc);
}

static bool settings(struct scan *sc, char close);

/* A value: scalar, [array], (list) or {group}. */
static bool value(struct scan *sc)
{
    char close;

    if (is_scalar(sc)) {
        scalar(sc);
        return true;
    }
    if (is_punct(sc, '{')) {
        next(sc);
        if (!settings(sc, '}'))
            return false;
        next(sc); /* the '}' */
        return true;
    }
    if (!is_punct(sc, '[') && !is_punct(sc, '('))
        return fail(sc, "a value: a number, a string, true or false, [array], (list) or {group}");
    close = sc->t.p[0] == '[' ? ']' : ')';
    next(sc);
    while (!is_punct(sc, close)) {
        if (close == ']') {
            if (!is_scalar(sc))
                return fail(sc, "a number, string or boolean in the [array], or \"]\"");
            scalar(sc);
        } else if (!value(sc)) {
            return false;
        }
        if (is_punct(sc, ','))
            next(sc);
        else if (!is_punct(sc, close))
            return fail(sc, close == ']' ? "\",\" or \"]\"" : "\",\" or \")\"");
    }
    next(sc);
    return true;
}

/* The settings of a group up to close ('}', or 0 for the end of the file), their names
 * checked for repeats. */
static bool settings(struct scan *sc, char close)
{
    struct seen *v = NULL;
    size_t n = 0, cap = 0;
    bool ok = true;

    while (close ? !is_punct(sc, close) : sc->t.k != T_EOF) {
        if (sc->t.k != T_NAME) {
            ok = fail(sc, close ? "a setting name or \"}\"" : "a setting name");
            break;
        }
        for (size_t i = 0; i < n; i++)
            if (v[i].n == sc->t.n && !memcmp(v[i].p, sc->t.p, sc->t.n)) {
                snprintf(sc->msg, sc->cap, "duplicate setting \"%.*s\" (first set on line %d)",
                         (int)sc->t.n, sc->t.p, v[i].line);
                *sc->line_out = sc->t.line;
                sc->rc = 1;
                ok = false;
                goto out;
            }
        if (n == cap) {
            struct seen *nv = realloc(v, (cap = cap ? 2 * cap : 16) * sizeof(*v));

            if (!nv) {
                sc->rc = -ENOMEM;
                ok = false;
                break;
            }
            v = nv;
        }
        v[n++] = (struct seen){sc->t.p, sc->t.n, sc->t.line};
        next(sc);
        if (!is_punct(sc, '=') && !is_punct(sc, ':')) {
            ok = fail(sc, "\"=\" or \":\" after the setting name");
            break;
        }
        next(sc);
        if (!value(sc)) {
            ok = false;
            break;
        }
        if (is_punct(sc, ';') || is_punct(sc, ','))
            next(sc);
    }
out:
    free(v);
    return ok;
}

int cfg_prescan(const char *text, size_t len, int *line, char *msg, size_t cap)
{
    struct scan sc = {
        .s = text, .end = text + len, .line = 1, .line_out = line, .msg = msg, .cap = cap};

    next(&sc);
    settings(&sc, 0);
    return sc.rc;
}
