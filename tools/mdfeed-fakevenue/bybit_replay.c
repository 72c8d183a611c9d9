/*
 * What a line of a Bybit v5 recording is to the replay (fv.h, struct fv_rline). A message with
 * a "topic" (publicTrade, orderbook, kline, tickers, liquidation ...) is DATA of that topic:
 * the key is the topic itself, as a live client names it in its args. The client's
 * {"op":"subscribe","args":[...]} is a REQ keyed by its first topic, and the venue's reply
 * {"success":..,"op":"subscribe",...}, which names no topic, is the ACK of the oldest
 * unanswered request of its recorded connection (the loader pairs them): bybit.c answers a
 * live subscribe holding that topic with it. Pongs, unsubscribe replies and what else the
 * client sent are not replayed: bybit.c answers those itself.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "fv.h"

/* Copies string v into key (cap bytes). False when v is no string or does not fit. */
static bool key_of(json_t *v, char *key, size_t cap)
{
    const char *t = json_string_value(v);

    if (!t || !t[0] || json_string_length(v) >= cap || strlen(t) != json_string_length(v))
        return false;
    memcpy(key, t, json_string_length(v) + 1);
    return true;
}

/* See fv.h. */
void bybit_replay_line(struct fv_server *s, struct fv_rline *l)
{
    json_t *root = json_loadb(l->json, l->len, 0, NULL);
    const char *op = json_string_value(json_object_get(root, "op"));
    bool subscribe = op && strcmp(op, "subscribe") == 0;

    (void)s;
    if (l->sent) {
        if (subscribe &&
            key_of(json_array_get(json_object_get(root, "args"), 0), l->key, sizeof(l->key)))
            l->kind = FV_RK_REQ;
    } else if (key_of(json_object_get(root, "topic"), l->key, sizeof(l->key))) {
        l->kind = FV_RK_DATA;
    } else if (subscribe && json_is_boolean(json_object_get(root, "success"))) {
        l->kind = FV_RK_ACK; /* key "": the oldest unanswered request's */
    }
    json_decref(root);
}
