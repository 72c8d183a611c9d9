/* Tests of tools/mdfeed-fakevenue: X(name, flags, timeout_seconds), as in tests/test_list.h. */
#ifndef MDF_TESTS_FAKEVENUE_LIST_H
#define MDF_TESTS_FAKEVENUE_LIST_H

#define TEST_LIST_FAKEVENUE(X)                                                                     \
    X(fakevenue_refuses_non_loopback_address, 0, 30)                                               \
    X(fakevenue_replays_only_subscribed_streams, 0, 60)                                            \
    X(fakevenue_replay_without_loop_sends_each_message_once, 0, 30)                                \
    X(fakevenue_answers_subscribe_unsubscribe_list_and_errors, 0, 30)                              \
    X(fakevenue_routes_futures_streams_by_path, 0, 30)                                             \
    X(fakevenue_rate_limit_cuts_a_chatty_client, 0, 30)                                            \
    X(fakevenue_pings_and_cuts_a_client_that_never_pongs, 0, 30)                                   \
    X(fakevenue_serves_rest_snapshot_no_earlier_than_recorded_time, 0, 30)                         \
    X(fakevenue_sends_server_shutdown_and_enforces_lifetime, 0, 60)                                \
    X(fakevenue_serves_tls_with_the_given_certificate, 0, 60)                                      \
    X(fakevenue_synthetic_messages_have_the_requested_size, 0, 60)                                 \
    X(fakevenue_faults_do_what_they_say, 0, 60)                                                    \
    X(fakevenue_gap_fault_drops_one_depth_diff, 0, 30)

#endif /* MDF_TESTS_FAKEVENUE_LIST_H */
