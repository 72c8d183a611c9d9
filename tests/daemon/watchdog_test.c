/* placeholder: being written */
typedef int mdf_placeholder_tests_daemon_watchdog_test_c;
