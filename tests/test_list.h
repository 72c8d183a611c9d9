/*
 * The registry of tests: X(name, flags, timeout_seconds). Flags: T_TSAN marks ring and thread
 * tests that `make test` also runs under ThreadSanitizer; T_ALONE marks tests that load the
 * machine on purpose. Both kinds run alone, never beside other tests.
 */
#ifndef MDF_TESTS_TEST_LIST_H
#define MDF_TESTS_TEST_LIST_H

/* Each area keeps its own list (X entries as above) so areas can grow independently. */
#include "tls/list.h"
#include "ws/list.h"
#include "net/list.h"
#include "tools/fakevenue_list.h"
#include "venue/list.h"
#include "book/list.h"
#include "config/list.h"
#include "net/restq_list.h"
#include "daemon/list.h"
#include "e2e/list.h"
#include "venue/bfx_list.h"
#include "tools/fakevenue_bfx_list.h"
#include "tools/fakevenue_replay_list.h"
#include "tools/fakevenue_okx_list.h"
#include "daemon/notify_list.h"
#include "daemon/health_list.h"
#include "tools/systemd_list.h"
#include "tools/top_list.h"
#include "e2e/multi_list.h"
#include "e2e/bfx_list.h"
#include "e2e/okx_list.h"
#include "e2e/truth_list.h"
#include "e2e/demo_list.h"
#include "e2e/reliability_list.h"
#include "e2e/budget_list.h"
#include "daemon/budget_list.h"
#include "e2e/subscribe_list.h"
#include "e2e/liveness_list.h"
#include "e2e/dns_list.h"
#include "net/resolve_list.h"
#include "tools/examples_list.h"
#include "e2e/shmfull_list.h"
#include "reader/batch_list.h"
#include "python/list.h"
#include "e2e/warmup_list.h"
#include "daemon/remove_list.h"
#include "venue/bybit_list.h"
#include "venue/okx_list.h"
#include "book/venues_list.h"
#include "tools/fakevenue_bybit_list.h"
#include "e2e/replay_list.h"
#include "e2e/bybit_list.h"

#define TEST_LIST(X)                                                                               \
    X(decimal_roundtrips_a_million_random_strings, 0, 120)                                         \
    X(decimal_parses_every_venue_form, 0, 30)                                                      \
    X(decimal_reports_overflow_never_rounds, 0, 30)                                                \
    X(decimal_rejects_malformed_text, 0, 30)                                                       \
    X(decimal_to_double_is_correctly_rounded, 0, 60)                                               \
    X(decimal_compares_exactly_across_exponents, 0, 60)                                            \
    X(decimal_format_reports_short_buffer, 0, 30)                                                  \
    X(ring_empty_has_nothing_to_read, T_TSAN, 30)                                                  \
    X(ring_wraps_and_keeps_order, T_TSAN, 30)                                                      \
    X(ring_lap_edges_report_exact_lost_counts, T_TSAN, 30)                                         \
    X(ring_lost_count_matches_oracle_randomized, T_TSAN, 120)                                      \
    X(ring_subscribe_from_now_oldest_and_seq, T_TSAN, 30)                                          \
    X(ring_refuses_oversized_record, T_TSAN, 30)                                                   \
    X(ring_reader_refuses_slots_that_run_ahead_of_the_tail, T_TSAN, 30)                            \
    X(ring_never_delivers_torn_record_to_three_reader_threads, T_TSAN, 300)                        \
    X(ring_wait_wakes_blocked_reader_and_publish_skips_syscall_otherwise, T_TSAN, 60)              \
    X(segment_refuses_foreign_owner, 0, 30)                                                        \
    X(segment_refuses_wrong_mode, 0, 30)                                                           \
    X(segment_left_narrower_by_a_killed_writer_is_widened_and_used, 0, 30)                         \
    X(segment_refuses_symlink, 0, 30)                                                              \
    X(segment_sets_mode_and_group, 0, 30)                                                          \
    X(segment_refuses_second_live_daemon, 0, 30)                                                   \
    X(segment_takeover_bumps_epoch_and_readers_resume, 0, 30)                                      \
    X(segment_replaced_on_new_geometry_is_retired_for_readers, 0, 30)                              \
    X(segment_reader_in_group_can_read_but_never_write, 0, 30)                                     \
    X(segment_reader_outside_group_is_refused_clearly, 0, 30)                                      \
    X(kill_writer_2000_times_no_corrupt_record_and_readers_resume, 0, 240)                         \
    X(reader_detects_killed_writer_at_once_even_as_a_zombie, 0, 30)                                \
    X(reader_calls_a_live_writer_dead_only_past_the_heartbeat_bound, 0, 30)                        \
    X(reader_killed_while_blocked_leaves_writer_unaffected, 0, 30)                                 \
    X(state_latest_book_and_candles_consistent_under_concurrent_writer, T_TSAN, 120)               \
    X(state_candles_last_k_range_update_and_backfill, 0, 30)                                       \
    X(state_symbol_table_lookups_and_limits, 0, 30)                                                \
    X(state_latest_tables_keep_the_newest_of_each_type, 0, 30)                                     \
    X(state_books_marked_stale_after_daemon_restart, 0, 30)                                        \
    X(state_streams_of_one_symbol_keep_their_own_latest_entries, 0, 30)                            \
    X(state_stream_table_finds_by_key_kind_and_prefix_and_has_limits, 0, 30)                       \
    X(state_adopting_daemon_retires_the_streams_it_does_not_register, 0, 30)                       \
    X(reader_open_waits_for_instance_and_times_out, 0, 30)                                         \
    X(reader_refuses_a_state_segment_of_layout_1_and_the_next_daemon_replaces_it, 0, 30)           \
    X(reader_stream_calls_read_each_stream_and_records_name_theirs, 0, 30)                         \
    X(reader_refuses_segments_whose_geometry_does_not_fit, 0, 30)                                  \
    X(cat_prints_json_with_exact_decimals, 0, 60)                                                  \
    X(cat_prints_lost_line_when_lapped, 0, 60)                                                     \
    X(cat_follows_until_count_and_times_out, 0, 60)                                                \
    X(cat_reports_missing_instance_and_bad_ring, 0, 60)                                            \
    X(cat_text_mode_prints_one_line_per_record, 0, 60)                                             \
    X(cat_text_mode_summarizes_books_and_prints_local_iso_times, 0, 60)                            \
    X(install_puts_every_file_and_readme_example_builds_and_reads, 0, 120)                         \
    TEST_LIST_TLS(X)                                                                               \
    TEST_LIST_WS(X)                                                                                \
    TEST_LIST_NET(X)                                                                               \
    TEST_LIST_FAKEVENUE(X)                                                                         \
    TEST_LIST_VENUE(X)                                                                             \
    TEST_LIST_BOOK(X)                                                                              \
    TEST_LIST_CONFIG(X)                                                                            \
    TEST_LIST_RESTQ(X)                                                                             \
    TEST_LIST_DAEMON(X)                                                                            \
    TEST_LIST_E2E(X)                                                                               \
    TEST_LIST_BFX(X)                                                                               \
    TEST_LIST_FV_BFX(X)                                                                            \
    TEST_LIST_FV_REPLAY(X)                                                                         \
    TEST_LIST_FV_OKX(X)                                                                            \
    TEST_LIST_TRUTH(X)                                                                             \
    TEST_LIST_DEMO(X)                                                                              \
    TEST_LIST_RELIABILITY(X)                                                                       \
    TEST_LIST_NOTIFY(X)                                                                            \
    TEST_LIST_HEALTH(X)                                                                            \
    TEST_LIST_SYSTEMD(X)                                                                           \
    TEST_LIST_TOP(X)                                                                               \
    TEST_LIST_MULTI(X)                                                                             \
    TEST_LIST_BFX_E2E(X)                                                                           \
    TEST_LIST_OKX_E2E(X)                                                                           \
    TEST_LIST_BUDGET_E2E(X)                                                                        \
    TEST_LIST_BUDGET(X)                                                                            \
    TEST_LIST_SUBSCRIBE(X)                                                                         \
    TEST_LIST_LIVENESS(X)                                                                          \
    TEST_LIST_DNS(X)                                                                               \
    TEST_LIST_RESOLVE(X)                                                                           \
    TEST_LIST_EXAMPLES(X)                                                                          \
    TEST_LIST_SHMFULL(X)                                                                           \
    TEST_LIST_READER_BATCH(X)                                                                      \
    TEST_LIST_PYTHON(X)                                                                            \
    TEST_LIST_WARMUP(X)                                                                            \
    TEST_LIST_REMOVE(X)                                                                            \
    TEST_LIST_BYBIT(X)                                                                             \
    TEST_LIST_OKX(X)                                                                               \
    TEST_LIST_BOOK_VENUES(X)                                                                       \
    TEST_LIST_FV_BYBIT(X)                                                                          \
    TEST_LIST_REPLAY_E2E(X)                                                                        \
    TEST_LIST_BYBIT_E2E(X)

#endif /* MDF_TESTS_TEST_LIST_H */
