/* placeholder: being written */
typedef int mdf_placeholder_tests_daemon_health_test_c;
