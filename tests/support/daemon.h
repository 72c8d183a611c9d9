/*
 * Running mdfeedd from a test: a config written to a temporary file (with the test's own shm
 * instance), the daemon started as a child with its log (stderr) piped back, and waits for log
 * lines, as tests/support/fakevenue.h does for the fake venue.
 */
#ifndef MDF_TESTS_SUPPORT_DAEMON_H
#define MDF_TESTS_SUPPORT_DAEMON_H

#include <stddef.h>

#include "support/fakevenue.h"

struct dmn {
    struct fv_proc p;  /* the child and its log lines (p.out_fd is its stderr) */
    char conf[128];    /* config file path */
    char instance[32]; /* shm instance (test_instance()) */
};

/* Writes the config text (printf-style; the line `instance = "<test instance>";` is added in
 * front) to a temporary file. Returns 0 or negative. */
int dmn_config(struct dmn *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Rewrites the config file of a (running) daemon, for a reload. Returns 0 or negative. */
int dmn_rewrite(struct dmn *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Starts build's mdfeedd -c <conf> and returns at once. Returns 0 or negative. */
int dmn_spawn(struct dmn *d);

/* Starts build's mdfeedd -c <conf> and waits up to 10 s for its "running:" line. Returns 0,
 * or -ETIMEDOUT (the log so far is printed to help the reader of the failure). */
int dmn_start(struct dmn *d);

/* Waits up to timeout_ms for a log line containing needle (see fv_wait_line). */
int dmn_wait(struct dmn *d, const char *needle, int timeout_ms, char *line, size_t cap);

/* Counts log lines containing needle read so far (see fv_count_lines). */
int dmn_count(struct dmn *d, const char *needle);

/* Sends sig to the daemon. */
void dmn_kill(struct dmn *d, int sig);

/* Waits up to timeout_ms for the daemon to exit by itself; returns its exit status (128+signal
 * if killed) or -ETIMEDOUT. Also removes the config file once it has exited. */
int dmn_wait_exit(struct dmn *d, int timeout_ms);

/* SIGTERM and wait (SIGKILL after 10 s); returns the exit status (128+signal if killed). Also
 * removes the config file. */
int dmn_stop(struct dmn *d);

#endif /* MDF_TESTS_SUPPORT_DAEMON_H */
