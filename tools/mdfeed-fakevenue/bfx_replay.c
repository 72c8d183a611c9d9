/*
 * What a line of a Bitfinex recording is to the replay (fv.h, struct fv_rline): the first info
 * event (with "version") and the conf reply are answers a live client gets on connecting and on
 * its conf; each subscribed event answers a subscription of its channel (key from bitfinex.c's
 * bitfinex_key_of(), the same for the live request) and gives the channel its recorded chanId;
 * a data array [CHAN, ...] (snapshots, updates, hb, cs) belongs to the channel whose subscribed
 * event gave CHAN on the same recorded connection; later info events (20051, 20060, 20061) go
 * to every connection. Pongs, errors, unsubscribed replies and what the client sent are not
 * replayed: bitfinex.c answers those itself.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "fv.h"

/* The length of the leading "[CHAN" of a data array, and CHAN; false when json does not start
 * so. */
static bool lead_chan(const char *json, size_t len, int64_t *chan, uint32_t *end)
{
    size_t i = 0;
    int64_t v = 0;
    bool digits = false;

    if (len < 3 || json[0] != '[')
        return false;
    for (i = 1; i < len && json[i] >= '0' && json[i] <= '9' && i < 19; i++) {
        v = v * 10 + (json[i] - '0');
        digits = true;
    }
    if (!digits || i >= len || json[i] != ',')
        return false;
    *chan = v;
    *end = (uint32_t)i;
    return true;
}

/* See fv.h. */
void bfx_replay_line(struct fv_server *s, struct fv_rline *l)
{
    json_t *root, *ev, *fl;
    const char *e;

    if (l->sent)
        return;
    if (l->json[0] == '[') {
        if (lead_chan(l->json, l->len, &l->chan, &l->chan_end))
            l->kind = FV_RK_DATA;
        return;
    }
    root = json_loadb(l->json, l->len, 0, NULL);
    ev = json_object_get(root, "event");
    e = json_is_string(ev) ? json_string_value(ev) : "";
    if (strcmp(e, "info") == 0) {
        if (json_object_get(root, "version")) {
            l->kind = FV_RK_ACK;
            snprintf(l->key, sizeof(l->key), "info");
        } else {
            l->kind = FV_RK_ALL;
        }
    } else if (strcmp(e, "conf") == 0 && json_is_integer(fl = json_object_get(root, "flags"))) {
        l->kind = FV_RK_ACK;
        snprintf(l->key, sizeof(l->key), "conf:%" JSON_INTEGER_FORMAT, json_integer_value(fl));
    } else if (strcmp(e, "subscribed") == 0 && json_is_integer(json_object_get(root, "chanId")) &&
               bitfinex_key_of(s, root, l->key, sizeof(l->key))) {
        l->kind = FV_RK_ACK;
        l->chan = json_integer_value(json_object_get(root, "chanId"));
    }
    json_decref(root);
}
