/* End-to-end tests with several venues and repeated connection attempts (tests/e2e/multi_test.c).
 */
#ifndef MDF_TESTS_E2E_MULTI_LIST_H
#define MDF_TESTS_E2E_MULTI_LIST_H

#define TEST_LIST_MULTI(X)                                                                         \
    X(e2e_two_venues_in_one_daemon_publish_side_by_side_and_one_outage_leaves_the_other_live, 0,   \
      120)                                                                                         \
    X(e2e_connection_attempts_stay_under_venue_limit_through_a_reconnect_storm, 0, 90)

#endif
