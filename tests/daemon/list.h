/* Tests of src/daemon/. */
#ifndef MDF_TESTS_DAEMON_LIST_H
#define MDF_TESTS_DAEMON_LIST_H

#define TEST_LIST_DAEMON(X)

#endif
