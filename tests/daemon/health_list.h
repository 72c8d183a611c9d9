/* Tests of the health segment, the watchdog thread and systemd notifications (issue 6). */
#ifndef MDF_TESTS_DAEMON_HEALTH_LIST_H
#define MDF_TESTS_DAEMON_HEALTH_LIST_H

#define TEST_LIST_HEALTH(X)                                                                        \
    X(health_counters_match_what_the_venue_did_and_the_rings_carry, T_TSAN, 90)                         \
    X(watchdog_reconnects_a_connection_silent_past_watchdog_timeout, 0, 90)                        \
    X(watchdog_keepalives_stop_while_the_loop_is_stuck_and_resume_after, T_TSAN, 60)                    \
    X(notify_ready_only_after_the_first_subscriptions_are_acknowledged, 0, 60)                     \
    X(watchdog_wall_clock_step_of_an_hour_either_way_raises_no_false_alarm, 0, 60)

#endif
