/* End-to-end tests with OKX v5 public (tests/e2e/okx_test.c). */
#ifndef MDF_TESTS_E2E_OKX_LIST_H
#define MDF_TESTS_E2E_OKX_LIST_H

#define TEST_LIST_OKX_E2E(X)                                                                       \
    X(e2e_okx_every_channel_equals_what_the_venue_sent, 0, 90)                                     \
    X(e2e_okx_seq_break_and_bad_checksum_resync_only_that_book, 0, 90)                             \
    X(e2e_okx_refused_arg_fails_only_its_own_streams, 0, 90)                                       \
    X(e2e_okx_request_limit_reached_replaces_the_connection_for_a_resync, 0, 90)                   \
    X(e2e_okx_upgrade_notice_64008_replaces_the_connection_losing_nothing, 0, 90)                  \
    X(e2e_okx_text_ping_keeps_the_connection_past_the_venue_idle_cut, 0, 90)

#endif
