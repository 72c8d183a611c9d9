/*
 * Starting and watching tools/mdfeed-fakevenue from a test: the child's stdout (one log line per
 * event, see mdfeed-fakevenue(1)) comes back through a pipe and tests wait for lines in it.
 *
 * Lines read but not yet matched stay buffered (up to sizeof buf; when it is full, the oldest
 * half is dropped), so waiting for a later line never loses an earlier one a test asks for next.
 * The child gets PR_SET_PDEATHSIG so it never outlives the test process.
 */
#ifndef MDF_TESTS_SUPPORT_FAKEVENUE_H
#define MDF_TESTS_SUPPORT_FAKEVENUE_H

#include <stddef.h>
#include <sys/types.h>

struct fv_proc {
    pid_t pid;       /* the fake venue, 0 when not running */
    int port;        /* the port it listens on */
    int out_fd;      /* read end of its stdout */
    char buf[65536]; /* stdout read but not yet consumed */
    size_t len;      /* bytes in buf */
};

/* Starts build's mdfeed-fakevenue (test_bin("mdfeed-fakevenue")) with args (NULL-terminated;
 * --port 0 is added unless args give a --port), stdout piped to us, stderr inherited; waits up
 * to 10 s for the "listening" line and sets port. Returns 0 or negative. */
int fv_start(struct fv_proc *fv, const char *const *args);

/* fv_start() with "--venue VENUE" before args (at most 60). */
int fv_start_venue(struct fv_proc *fv, const char *venue, const char *const *args);

/* Waits up to timeout_ms for a stdout line containing needle (lines already read but not yet
 * matched are searched first, in order; each matched line is consumed). Copies it to line (may
 * be NULL). Returns 0 or -ETIMEDOUT (also at once when the child closed its stdout). */
int fv_wait_line(struct fv_proc *fv, const char *needle, int timeout_ms, char *line, size_t cap);

/* Counts lines containing needle read so far (reads what is available without blocking). Lines
 * already consumed by fv_wait_line() are not counted. */
int fv_count_lines(struct fv_proc *fv, const char *needle);

/* Appends to fv->buf what the child has written and not been read yet (up to EOF or a pause
 * of 100 ms), so a failure can show the whole log. */
void fv_drain(struct fv_proc *fv);

/* SIGTERM, waitpid; returns its exit status (128+signal if it was killed; SIGKILL after 10 s). */
int fv_stop(struct fv_proc *fv);

#endif /* MDF_TESTS_SUPPORT_FAKEVENUE_H */
