/*
 * What a line of an OKX v5 recording is to the replay (fv.h, struct fv_rline). Keys are
 * "channel:instId" (okxv_key()), the same for a live subscribe arg:
 *   {"id"?,"event":"subscribe","arg":{"channel":C,"instId":I},"connId":..}
 *                     the answer to a subscription of C:I (okx.c sends it to a live client
 *                     that subscribes the same arg; the clock waits at it, replay.c);
 *   {"arg":{"channel":C,"instId":I,..},"data":[..]} and, for books, with "action" "snapshot" or
 *                     "update": a message of key C:I, to the connections that subscribed it;
 *   {"event":"notice",..}
 *                     a notice (64008 service upgrade) to every connection.
 * Errors, unsubscribe acks, channel-conn-count events, data of args without an instId, and what
 * the client sent are not replayed: okx.c answers those itself. A line that is not JSON (the
 * venue's "pong") stops the load like any other (replay.c).
 */
#include <string.h>

#include <jansson.h>

#include "okxv.h"

/* The key of an arg object {"channel":..,"instId":..} into l->key; false when it has none. */
static bool arg_key(json_t *arg, struct fv_rline *l)
{
    json_t *c = json_object_get(arg, "channel"), *i = json_object_get(arg, "instId");

    return json_is_string(c) && json_is_string(i) &&
           fvokx_inst_ok(json_string_value(i), json_string_length(i)) &&
           okxv_key(json_string_value(c), json_string_value(i), l->key, sizeof(l->key));
}

/* See okxv.h. */
void okx_replay_line(struct fv_server *s, struct fv_rline *l)
{
    json_t *root, *ev, *act;
    const char *e;

    (void)s;
    if (l->sent || l->json[0] != '{')
        return;
    root = json_loadb(l->json, l->len, 0, NULL);
    ev = json_object_get(root, "event");
    e = json_is_string(ev) ? json_string_value(ev) : NULL;
    act = json_object_get(root, "action");
    if (e && strcmp(e, "subscribe") == 0) {
        if (arg_key(json_object_get(root, "arg"), l))
            l->kind = FV_RK_ACK;
    } else if (e && strcmp(e, "notice") == 0) {
        l->kind = FV_RK_ALL;
    } else if (!e && json_is_array(json_object_get(root, "data")) &&
               (!act || (json_is_string(act) && (strcmp(json_string_value(act), "snapshot") == 0 ||
                                                 strcmp(json_string_value(act), "update") == 0)))) {
        if (arg_key(json_object_get(root, "arg"), l))
            l->kind = FV_RK_DATA;
    }
    if (l->kind == FV_RK_SKIP)
        l->key[0] = '\0';
    json_decref(root);
}
