/* End-to-end tests of the venue's per-IP limits: REST throttle events and budgets per venue
 * host (tests/e2e/budget_test.c). */
#ifndef MDF_TESTS_E2E_BUDGET_LIST_H
#define MDF_TESTS_E2E_BUDGET_LIST_H

#define TEST_LIST_BUDGET_E2E(X)                                                                    \
    X(e2e_rest_429_gives_one_throttled_event_then_a_resume_event, 0, 60)                           \
    X(e2e_rest_418_ban_gives_a_banned_event_then_a_resume_event, 0, 60)                            \
    X(e2e_two_entries_on_one_host_share_its_connection_attempt_budget, 0, 90)                      \
    X(e2e_two_entries_on_one_host_share_its_rest_weight_budget, 0, 150)                            \
    X(e2e_entry_removed_by_sighup_releases_its_hold_on_the_host_budget, 0, 60)

#endif
