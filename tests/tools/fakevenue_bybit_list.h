/* Tests of the Bybit side of tools/mdfeed-fakevenue: X(name, flags, timeout_seconds), as in
 * tests/test_list.h. */
#ifndef MDF_TESTS_TOOLS_FAKEVENUE_BYBIT_LIST_H
#define MDF_TESTS_TOOLS_FAKEVENUE_BYBIT_LIST_H

#define TEST_LIST_FV_BYBIT(X)                                                                      \
    X(fakevenue_bybit_linear_every_topic_decodes_and_books_stay_in_sequence, 0, 60)                \
    X(fakevenue_bybit_spot_topics_decode_args_limit_and_unknown_topics_are_refused, 0, 60)         \
    X(fakevenue_bybit_gap_fault_is_caught_by_the_book_rule_on_faulted_connections_only, 0, 60)     \
    X(fakevenue_bybit_fault_gap_after_drops_one_book_delta, 0, 60)                                 \
    X(fakevenue_bybit_bad_requests_are_refused_counted_and_the_connection_lives_on, 0, 60)         \
    X(fakevenue_bybit_restart_sends_a_u1_snapshot_that_overwrites_the_book, 0, 60)                 \
    X(fakevenue_bybit_observer_on_the_same_topics_sees_the_same_messages, 0, 60)                   \
    X(fakevenue_bybit_idle_cut_spares_pinging_clients_and_fault_flags_apply, 0, 60)                \
    X(fakevenue_bybit_replay_answers_the_subscribe_and_serves_the_recorded_topics_in_order, 0, 30) \
    X(fakevenue_bybit_replay_serves_only_the_subscribed_topic, 0, 30)

#endif /* MDF_TESTS_TOOLS_FAKEVENUE_BYBIT_LIST_H */
