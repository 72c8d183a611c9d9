/* Tests of src/tls/: X(name, flags, timeout_seconds), as in tests/test_list.h. */
#ifndef MDF_TESTS_TLS_LIST_H
#define MDF_TESTS_TLS_LIST_H

#define TEST_LIST_TLS(X)

#endif /* MDF_TESTS_TLS_LIST_H */
