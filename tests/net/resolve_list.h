/* Tests of src/net/resolve.c through src/net/conn.c (tests/net/resolve_test.c). */
#ifndef MDF_TESTS_NET_RESOLVE_LIST_H
#define MDF_TESTS_NET_RESOLVE_LIST_H

#define TEST_LIST_RESOLVE(X)                                                                       \
    X(resolve_numeric_addresses_answer_at_once_without_a_lookup, 0, 30)                            \
    X(resolve_connections_to_one_host_share_one_lookup, 0, 30)                                     \
    X(resolve_stuck_lookup_fails_attempts_at_once_and_is_freed_when_it_returns, 0, 30)

#endif
