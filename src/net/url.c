/*
 * URL parsing for the four schemes we connect with. Strict: anything outside the printable ASCII
 * a venue URL uses is refused rather than guessed at.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "net/url.h"

struct scheme {
    const char *prefix; /* "wss://" ... */
    bool tls, websocket;
    uint16_t port; /* default port */
};

static const struct scheme schemes[] = {
    {"ws://", false, true, 80},
    {"wss://", true, true, 443},
    {"http://", false, false, 80},
    {"https://", true, false, 443},
};

int url_parse(struct url *u, const char *text)
{
    const struct scheme *sc = NULL;
    const char *p, *host, *host_end, *rest;
    size_t i, hlen;

    memset(u, 0, sizeof(*u));
    if (!text)
        return err_set(-EINVAL, "no URL given");
    for (p = text; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return err_set(-EINVAL,
                           "URL \"%s\": spaces and control or non-ASCII characters "
                           "are not allowed",
                           text);
    for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
        if (strncasecmp(text, schemes[i].prefix, strlen(schemes[i].prefix)) == 0)
            sc = &schemes[i];
    if (!sc)
        return err_set(-EINVAL, "URL \"%s\": scheme must be ws, wss, http or https", text);
    u->tls = sc->tls;
    u->websocket = sc->websocket;
    host = text + strlen(sc->prefix);
    if (*host == '[') {
        host++;
        host_end = strchr(host, ']');
        if (!host_end)
            return err_set(-EINVAL, "URL \"%s\": unterminated [IPv6] address", text);
        rest = host_end + 1;
    } else {
        host_end = host + strcspn(host, ":/?#");
        rest = host_end;
    }
    hlen = (size_t)(host_end - host);
    if (hlen == 0)
        return err_set(-EINVAL, "URL \"%s\": no host", text);
    if (hlen >= sizeof(u->host))
        return err_set(-EINVAL, "URL \"%s\": host name too long", text);
    if (memchr(host, '@', hlen))
        return err_set(-EINVAL, "URL \"%s\": user information is not supported", text);
    memcpy(u->host, host, hlen);
    u->host[hlen] = '\0';
    u->port = sc->port;
    u->default_port = true;
    if (*rest == ':') {
        char *end;
        long port;

        rest++;
        if (*rest < '0' || *rest > '9')
            return err_set(-EINVAL, "URL \"%s\": bad port", text);
        errno = 0;
        port = strtol(rest, &end, 10);
        if (errno || port < 1 || port > 65535 || (*end && *end != '/' && *end != '?'))
            return err_set(-EINVAL, "URL \"%s\": port must be 1-65535", text);
        u->port = (uint16_t)port;
        u->default_port = false;
        rest = end;
    }
    if (*rest == '#')
        rest = "";
    if (*rest && *rest != '/' && *rest != '?')
        return err_set(-EINVAL, "URL \"%s\": unexpected text after the host", text);
    if (strchr(rest, '#'))
        return err_set(-EINVAL, "URL \"%s\": fragments are not allowed", text);
    if (strlen(rest) + 2 > sizeof(u->path))
        return err_set(-EINVAL, "URL \"%s\": path too long", text);
    snprintf(u->path, sizeof(u->path), "%s%s", *rest == '/' ? "" : "/", rest);
    return 0;
}

int url_host_header(const struct url *u, char *out, size_t cap)
{
    bool v6 = strchr(u->host, ':') != NULL;
    int n;

    if (u->default_port)
        n = snprintf(out, cap, v6 ? "[%s]" : "%s", u->host);
    else
        n = snprintf(out, cap, v6 ? "[%s]:%u" : "%s:%u", u->host, u->port);
    if (n < 0 || (size_t)n >= cap)
        return -ENOSPC;
    return n;
}
