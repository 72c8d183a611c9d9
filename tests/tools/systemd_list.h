#ifndef MDF_TESTS_TOOLS_SYSTEMD_LIST_H
#define MDF_TESTS_TOOLS_SYSTEMD_LIST_H

/* The systemd unit and sysusers.d snippet (tests/tools/systemd_test.c). */
#define TEST_LIST_SYSTEMD(X)                                                                       \
    X(systemd_unit_verifies_cleanly_with_installed_paths, 0, 300)                                  \
    X(systemd_unit_security_exposure_is_at_most_2_0, 0, 60)                                        \
    X(systemd_sysusers_creates_the_mdfeed_system_user_and_group, 0, 60)                            \
    X(systemd_daemon_works_within_the_units_sandbox, 0, 180)

#endif
