/*
 * Tests of the health reader API and mdfeed-top (tests/tools/top_test.c).
 * top_live_daemon_shows_running_and_live_streams needs mdfeedd to publish its health segment.
 */
#ifndef MDF_TESTS_TOOLS_TOP_LIST_H
#define MDF_TESTS_TOOLS_TOP_LIST_H

#define TEST_LIST_TOP(X)                                                                           \
    X(health_reader_copies_entries_and_refuses_slots_past_count, 0, 30)                            \
    X(health_reader_refuses_a_descriptor_outside_the_segment, 0, 30)                               \
    X(top_batch_prints_every_value_written, 0, 60)                                                 \
    X(top_json_matches_health_segment_entry_by_entry, 0, 60)                                       \
    X(top_sorts_and_filters_streams_in_text_and_json, 0, 120)                                      \
    X(top_rates_come_from_counter_deltas_and_sort_by_rate, 0, 60)                                  \
    X(top_exits_1_with_a_plain_message_when_the_instance_does_not_exist, 0, 60)                    \
    X(top_exits_1_when_the_heartbeat_is_stale_and_shows_the_last_state, 0, 60)                     \
    X(top_interactive_in_tmux_shows_tables_keys_and_quits_on_q, 0, 120)                            \
    X(top_honours_no_color, 0, 120)                                                                \
    X(top_interactive_survives_a_daemon_restart, 0, 120)                                           \
    X(top_live_daemon_shows_running_and_live_streams, 0, 120)                                      \
    X(top_shows_each_book_stream_of_a_symbol_its_own_top, 0, 90)                                   \
    X(top_one_shot_shows_real_rates_and_diff_book_levels, 0, 90)

#endif /* MDF_TESTS_TOOLS_TOP_LIST_H */
