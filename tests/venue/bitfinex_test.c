/* placeholder: being written */
typedef int mdf_placeholder_tests_venue_bitfinex_test_c;
