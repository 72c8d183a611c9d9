/* End-to-end tests of name resolution: a resolver that never answers (tests/e2e/dns_test.c). */
#ifndef MDF_TESTS_E2E_DNS_LIST_H
#define MDF_TESTS_E2E_DNS_LIST_H

#define TEST_LIST_DNS(X)                                                                           \
    X(e2e_dns_that_never_answers_for_one_venue_leaves_the_other_live_and_is_counted_as_stuck, 0, 90)

#endif
