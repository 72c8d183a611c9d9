/* placeholder: being written */
typedef int mdf_placeholder_tests_daemon_notify_test_c;
