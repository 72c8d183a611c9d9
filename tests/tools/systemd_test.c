/* placeholder: being written */
typedef int mdf_placeholder_tests_tools_systemd_test_c;
