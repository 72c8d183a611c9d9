/*
 * Removing a stopped instance's segments from /dev/shm (mdfeedd --remove-segments). A daemon
 * leaves its segments behind when it stops, so a restart can adopt them (the candle history, the
 * latest state); this is the way to give their memory back when the instance is not coming back.
 *
 * The main design choice: the writer's flock(2) on every segment is what says a daemon lives
 * (segment.h), so the removal takes that same lock on every segment of the instance first and
 * removes nothing unless it got all of them. Holding them while it unlinks, a daemon starting at
 * the same moment cannot adopt a segment that is being removed.
 */
#ifndef MDF_SHM_REMOVE_H
#define MDF_SHM_REMOVE_H

#include <stdio.h>

/* Removes every /dev/shm/mdfeed.<instance>.* segment, saying on out what it removed (one line
 * per segment, then a summary), and which processes still map them (readers: their memory is
 * freed when the last one detaches). Returns the number of segments removed (0: there were
 * none), or MDF_ELIVE when a live daemon holds one (nothing removed), -EINVAL for a bad
 * instance name, another negative errno (a segment that could not be removed), each with a
 * message (mdf_errmsg). */
int seg_remove_instance(const char *instance, FILE *out);

#endif /* MDF_SHM_REMOVE_H */
