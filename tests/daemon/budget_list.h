#ifndef MDF_TESTS_DAEMON_BUDGET_LIST_H
#define MDF_TESTS_DAEMON_BUDGET_LIST_H

/* Budgets per venue host (tests/daemon/budget_test.c). */
#define TEST_LIST_BUDGET(X)                                                                        \
    X(budget_keys_name_scheme_host_and_port_once_per_host, 0, 30)                                  \
    X(budget_entries_on_one_host_share_the_strictest_limits_and_one_window, 0, 30)                 \
    X(budget_move_takes_entry_and_rest_queue_to_the_new_host, 0, 30)

#endif
