/*
 * URLs the daemon connects to: ws://, wss://, http:// and https://, with a host name, an IPv4
 * address or a bracketed IPv6 address, an optional port and a path with query. Pure parsing.
 */
#ifndef MDF_NET_URL_H
#define MDF_NET_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct url {
    bool tls;          /* wss or https */
    bool websocket;    /* ws or wss */
    char host[256];    /* host name or address, without brackets */
    uint16_t port;     /* explicit port, or the scheme's default */
    bool default_port; /* port was not given */
    char path[2048];   /* path and query, "/" when empty */
};

/* Parses text into u. Returns 0, or -EINVAL with err_set() saying what is wrong (scheme, host,
 * port, length, spaces or control characters). */
int url_parse(struct url *u, const char *text);

/* Writes the Host header value: "host", "host:port" or "[v6]:port" (port only when it was
 * given). Returns the length, or -ENOSPC. */
int url_host_header(const struct url *u, char *out, size_t cap);

#endif /* MDF_NET_URL_H */
