#ifndef MDF_TESTS_DAEMON_NOTIFY_LIST_H
#define MDF_TESTS_DAEMON_NOTIFY_LIST_H

/* sd_notify without libsystemd (tests/daemon/notify_test.c). */
#define TEST_LIST_NOTIFY(X)                                                                        \
    X(notify_delivers_to_a_path_socket_from_our_pid, 0, 30)                                        \
    X(notify_delivers_to_an_abstract_socket_from_our_pid, 0, 30)                                   \
    X(notify_without_notify_socket_is_a_silent_no_op, 0, 30)                                       \
    X(notify_watchdog_is_ours_only_by_sd_watchdog_enabled_rules, 0, 30)                            \
    X(notify_refuses_malformed_addresses_and_stays_harmless, 0, 30)                                \
    X(notify_dead_socket_counts_errors_and_the_next_manager_is_reached, 0, 30)                     \
    X(notify_full_socket_never_blocks_the_sender, 0, 60)                                           \
    X(notify_loop_and_watchdog_threads_send_whole_datagrams_at_once, T_TSAN, 120)

#endif
