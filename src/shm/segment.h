/*
 * Shared-memory segments: naming, creation with O_EXCL, adoption of a dead daemon's segment,
 * refusal of squatted names, read-only mapping for readers, and liveness (pid + heartbeat).
 *
 * A writer keeps each segment's descriptor open with an exclusive flock(2) for its lifetime: the
 * lock is what makes "a live daemon owns this instance" exact (the kernel drops it when the
 * process dies, however it dies), while pid and heartbeat in the header tell readers, who take
 * no lock, the same thing.
 */
#ifndef MDF_SHM_SEGMENT_H
#define MDF_SHM_SEGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <mdfeed/layout.h>

#define SEG_NAME_MAX 80 /* "/mdfeed.<instance>.<segment>" with the NUL */

/* A mapped segment. Caller-allocated; fields are read-only outside segment.c. */
struct seg {
    void *base;              /* mapping, starts with struct mdf_seg_header */
    size_t size;             /* mapped bytes */
    int fd;                  /* writer: open and flocked; reader: -1 */
    bool writable;           /* mapped read-write (writer) */
    char name[SEG_NAME_MAX]; /* shm name, "/mdfeed.<instance>.<segment>" */
    char replaced[96];       /* writer: why an existing segment was replaced, "" if it was not */
};

/* How a writer wants a segment. */
struct seg_params {
    const char *instance;   /* instance name: [A-Za-z0-9_-], 1..31 chars */
    const char *name;       /* segment name ("ticks", "state", ...) */
    uint32_t kind;          /* enum mdf_seg_kind */
    size_t size;            /* total bytes wanted */
    size_t reserve;         /* bytes from the start backed with memory at once, created or
                             * adopted (seg_reserve): p->size for a segment written all over,
                             * less for one whose writer reserves the rest as it is used */
    mode_t mode;            /* permission bits, e.g. 0640 */
    gid_t gid;              /* group, or (gid_t)-1 for the process's group */
    int64_t hb_interval_ns; /* heartbeat period published for readers */
};

/* What seg_writer_open found. */
enum seg_origin {
    SEG_CREATED = 1, /* new, zero-filled, version 0: format the body, then seg_writer_ready() */
    SEG_ADOPTED = 2, /* a dead daemon's segment of the same size and kind, now ours: validate
                      * or repair the body, then seg_writer_ready() (bumps the epoch) */
};

/* Checks an instance name; returns 0 or -EINVAL with a message. */
int seg_check_instance(const char *instance);

/* Writes "/mdfeed.<instance>.<segment>" into out[SEG_NAME_MAX]; returns 0 or -EINVAL. */
int seg_format_name(char *out, const char *instance, const char *segment);

/* Creates segment p with O_EXCL, or adopts an existing one that this user owns with the right
 * mode and group, whose writer is dead (its flock is free), of the same kind, layout major and
 * size. An existing segment of another size, kind or version is retired and replaced.
 * Returns SEG_CREATED or SEG_ADOPTED (> 0) with s mapped read-write and locked; or
 * MDF_ESQUAT (foreign owner, wrong mode or group, symlink, not a regular file), MDF_ELIVE (a live
 * daemon holds it), -EINVAL or another negative errno, each with a message (mdf_errmsg). */
int seg_writer_open(struct seg *s, const struct seg_params *p);

/* Replaces s (already open by this writer) with a fresh segment of size p->size: marks the old
 * one retired for its readers, unlinks it and creates a new one. Returns SEG_CREATED or < 0. */
int seg_writer_recreate(struct seg *s, const struct seg_params *p);

/* Backs bytes [off, off + len) of writer segment s with memory now (fallocate(2)), so that no
 * later store there can fault (SIGBUS) for want of space in /dev/shm. Idempotent: a range
 * already backed costs nothing. Control path only. Returns 0, or ERR_SHM_SPACE (no space in
 * /dev/shm, or the memory limit) or another negative errno, with a message naming the segment,
 * the bytes needed and the bytes free. */
int seg_reserve(struct seg *s, size_t off, size_t len);

/* Makes a created or adopted segment visible: stamps pid, start time, heartbeat, bumps the
 * epoch, and on a new segment stores the version word last with release. */
void seg_writer_ready(struct seg *s);

/* Stores the heartbeat (CLOCK_MONOTONIC ns). */
void seg_heartbeat(struct seg *s, int64_t now_mono_ns);

/* Unmaps and unlocks s; with unlink_it, also removes the name (readers see it retired). */
void seg_writer_close(struct seg *s, bool unlink_it);

/* Maps segment `segment` of `instance` read-only (read-write with rw: only the doorbell) and
 * checks magic, version, kind and size; a segment other than the state segment must be backed
 * by memory whole (seg_reader_backed). Returns 0, -ENOENT, -EACCES, MDF_ENOTREADY, MDF_EVERSION,
 * MDF_EBADSEG, -ENOSPC (not backed, /dev/shm full) or another negative errno, with a message. */
int seg_reader_open(struct seg *s, const char *instance, const char *segment, uint32_t kind,
                    bool rw);

/* Makes sure bytes [off, off + len) of reader segment s are backed by memory, faulting in
 * what is not, so that reading them cannot end in SIGBUS (tmpfs finds a page for a hole at the
 * first touch, and fails when /dev/shm is full). Returns 0, or -ENOSPC with a message. */
int seg_reader_backed(const struct seg *s, size_t off, size_t len);

/* Unmaps a reader's segment. */
void seg_reader_close(struct seg *s);

/* True if the writer replaced the segment (readers must reopen). A single flag load. */
bool seg_retired(const struct mdf_seg_header *h);

/* Liveness of the segment's writer at monotonic time now: MDF_ALIVE, MDF_DEAD or MDF_RETIRED
 * (enum mdf_liveness). Dead at once when its process is gone (seg_proc_gone); while the
 * process lives, only when its heartbeat is older than MDF_DEAD_AFTER_NS(hb_interval_ns). Costs
 * a kill(2) and a read of /proc/PID/stat. */
int seg_liveness(const struct mdf_seg_header *h, int64_t now_mono_ns);

/* Process pid's start time in clock ticks since boot (from /proc/PID/stat), 0 if unknown. */
uint64_t seg_proc_start(pid_t pid);

/* True if process pid, started at `start` (seg_proc_start; 0 = unknown), no longer runs: the
 * pid does not exist (ESRCH), is a zombie, or belongs to a process started at another time. A
 * process that exists but whose /proc entry cannot be read counts as running. */
bool seg_proc_gone(pid_t pid, uint64_t start);

#endif /* MDF_SHM_SEGMENT_H */
