/*
 * Thread-local error messages and error-code descriptions. The message buffer is per thread so
 * that concurrent readers never see each other's errors; it is fixed-size (no allocation).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"

#define ERRMSG_MAX 512

static __thread char errmsg[ERRMSG_MAX]; /* this thread's last error message */

int err_set(int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(errmsg, sizeof(errmsg), fmt, ap);
    va_end(ap);
    return code;
}

int err_prefix(int code, const char *fmt, ...)
{
    char tmp[ERRMSG_MAX];
    size_t n, rest;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    n = strlen(tmp);
    rest = strlen(errmsg);
    if (n + 2 + rest >= sizeof(tmp))
        rest = sizeof(tmp) - 3 - n > sizeof(tmp) ? 0 : sizeof(tmp) - 3 - n;
    if (n + 2 < sizeof(tmp)) {
        memcpy(tmp + n, ": ", 2);
        memcpy(tmp + n + 2, errmsg, rest);
        tmp[n + 2 + rest] = '\0';
    }
    memcpy(errmsg, tmp, sizeof(errmsg));
    return code;
}

void err_clear(void)
{
    errmsg[0] = '\0';
}

MDF_API const char *mdf_errmsg(void)
{
    return errmsg;
}

MDF_API const char *mdf_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
    case MDF_ESYNTAX:
        return "not a decimal number";
    case MDF_EBADSEG:
        return "not an mdfeed segment (bad magic, kind or size)";
    case MDF_EVERSION:
        return "incompatible shared-memory layout version";
    case MDF_ENOTREADY:
        return "segment is still being built by its writer";
    case MDF_EDEAD:
        return "the daemon is dead";
    case MDF_ERETIRED:
        return "segment was replaced; reopen the instance";
    case MDF_ESQUAT:
        return "segment name is taken by a file mdfeed will not adopt";
    case MDF_ELIVE:
        return "another live daemon owns this instance";
    case MDF_ECONTENDED:
        return "entry kept changing while being read";
    case MDF_ENODATA:
        return "no data yet";
    case MDF_ETRUNC:
        return "buffer too small";
    default:
        if (err < 0 && err > -1000)
            return strerror(-err);
        return "unknown error";
    }
}

const char *err_name(int code)
{
    switch (code) {
    case 0:
        return "ok";
    case ERR_TLS_VERIFY:
        return "tls-verify";
    case ERR_TLS_PROTO:
        return "tls-protocol";
    case ERR_TLS_CLOSED:
        return "tls-closed";
    case ERR_WS_HANDSHAKE:
        return "ws-handshake";
    case ERR_WS_PROTO:
        return "ws-protocol";
    case ERR_WS_CLOSED:
        return "ws-closed";
    case ERR_HTTP:
        return "http-malformed";
    case ERR_HTTP_STATUS:
        return "http-status";
    case ERR_PONG_TIMEOUT:
        return "pong-timeout";
    case ERR_TOO_BIG:
        return "too-big";
    case ERR_SHM_SPACE:
        return "shm-space";
    default:
        break;
    }
    if (code < 0 && code > -1000) {
        const char *n = strerrorname_np(-code);
        return n ? n : "errno";
    }
    return mdf_strerror(code);
}
