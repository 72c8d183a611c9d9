/* Tests of src/daemon/: the mdfeedd command line and lifecycle. */
#ifndef MDF_TESTS_DAEMON_LIST_H
#define MDF_TESTS_DAEMON_LIST_H

#define TEST_LIST_DAEMON(X)                                                                        \
    X(daemon_check_mode_accepts_shipped_and_demo_configs, 0, 30)                                   \
    X(daemon_check_mode_names_every_error_with_file_and_line, 0, 30)                               \
    X(daemon_sigterm_stops_cleanly_marks_books_stale_and_exits_zero, 0, 60)                        \
    X(daemon_second_signal_exits_at_once, 0, 30)                                                   \
    X(daemon_second_daemon_on_one_instance_is_refused_naming_it_once, 0, 30)                       \
    X(daemon_long_options_help_version_and_mistakes_are_named, 0, 30)                              \
    X(every_program_answers_help_and_version, 0, 30)

#endif
