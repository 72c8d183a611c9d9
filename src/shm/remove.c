/*
 * Removing a stopped instance's segments (see remove.h): list them in /dev/shm, lock them all
 * as a writer would (refusing if a live daemon holds one), note which processes still map them,
 * unlink them, and only then let the locks go.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mdfeed/layout.h>
#include <mdfeed/mdfeed.h>

#include "core/err.h"
#include "shm/remove.h"
#include "shm/segment.h"

#define SHM_DIR "/dev/shm"
#define MAX_SEGS 64    /* far more than an instance has (5 rings, state, health, doorbell) */
#define MAX_MAPPERS 16 /* processes named in the readers' notice */

struct found {
    char name[SEG_NAME_MAX]; /* "/mdfeed.<instance>.<segment>" */
    int fd;                  /* open and locked, -1 when not */
    off_t size;              /* apparent size */
};

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct found *)a)->name, ((const struct found *)b)->name);
}

/* The pid of the daemon that wrote the segment behind fd, 0 if unknown. */
static int64_t writer_pid(int fd)
{
    struct mdf_seg_header h;

    if (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) || h.magic != MDF_MAGIC)
        return 0;
    return h.writer_pid; /* a field of our own copy: no ordering with the writer needed */
}

/* Writes to out the processes (other than this one) that map a file under prefix
 * ("/dev/shm/mdfeed.<instance>."), as "pid 123 (mdfeed-top), ...". Returns their count.
 * Processes whose maps this user cannot read are not seen. */
static int mappers(const char *prefix, char *out, size_t cap)
{
    DIR *proc = opendir("/proc");
    struct dirent *de;
    size_t len = 0;
    int n = 0;

    out[0] = '\0';
    if (!proc)
        return 0;
    while ((de = readdir(proc))) {
        char path[64], line[512], comm[64] = "?";
        bool maps = false;
        FILE *f;
        pid_t pid;

        if (!isdigit((unsigned char)de->d_name[0]))
            continue;
        pid = (pid_t)atol(de->d_name);
        if (pid == getpid())
            continue;
        snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
        if (!(f = fopen(path, "r")))
            continue;
        while (!maps && fgets(line, sizeof(line), f))
            maps = strstr(line, prefix) != NULL;
        fclose(f);
        if (!maps)
            continue;
        snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
        if ((f = fopen(path, "r"))) {
            if (fgets(comm, sizeof(comm), f))
                comm[strcspn(comm, "\n")] = '\0';
            fclose(f);
        }
        if (n < MAX_MAPPERS && len < cap)
            len += (size_t)snprintf(out + len, cap - len, "%spid %d (%s)", n ? ", " : "", (int)pid,
                                    comm);
        n++;
    }
    closedir(proc);
    if (n > MAX_MAPPERS && len < cap)
        snprintf(out + len, cap - len, " and %d more", n - MAX_MAPPERS);
    return n;
}

int seg_remove_instance(const char *instance, FILE *out)
{
    struct found *segs;
    char prefix[SEG_NAME_MAX], maps_prefix[SEG_NAME_MAX + 16], who[1024];
    size_t n = 0, plen;
    struct dirent *de;
    uint64_t bytes = 0;
    int rc, removed = 0, readers;
    DIR *dir;

    if ((rc = seg_check_instance(instance)) < 0)
        return rc;
    /* "mdfeed.<instance>.": instance names have no dots, so the prefix is the instance's. */
    snprintf(prefix, sizeof(prefix), "%s%s.", &MDF_SHM_PREFIX[1], instance);
    plen = strlen(prefix);
    segs = calloc(MAX_SEGS, sizeof(*segs));
    if (!segs)
        return err_set(-ENOMEM, "out of memory");
    dir = opendir(SHM_DIR);
    if (!dir) {
        rc = err_set(-errno, "cannot read %s: %s", SHM_DIR, strerror(errno));
        goto out_free;
    }
    while ((de = readdir(dir)) && n < MAX_SEGS)
        if (strncmp(de->d_name, prefix, plen) == 0 && strlen(de->d_name) + 2 <= SEG_NAME_MAX) {
            snprintf(segs[n].name, sizeof(segs[n].name), "/%s", de->d_name);
            segs[n++].fd = -1;
        }
    closedir(dir);
    qsort(segs, n, sizeof(*segs), by_name);

    /* Lock them all first, as a writer would: one a live daemon holds means it runs. */
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        int fd = shm_open(segs[i].name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);

        if (fd < 0 && errno == ENOENT)
            continue; /* gone meanwhile */
        if (fd < 0) {
            rc = err_set(-errno, "cannot open %s%s: %s; nothing was removed", SHM_DIR, segs[i].name,
                         strerror(errno));
            goto out_close;
        }
        segs[i].fd = fd;
        if (fstat(fd, &st) == 0)
            segs[i].size = st.st_size;
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
            int64_t pid = writer_pid(fd);

            if (errno != EWOULDBLOCK) {
                rc = err_set(-errno, "cannot lock %s%s: %s; nothing was removed", SHM_DIR,
                             segs[i].name, strerror(errno));
                goto out_close;
            }
            if (pid > 0)
                rc = err_set(MDF_ELIVE,
                             "instance \"%s\" is in use: a live mdfeedd (pid %" PRId64
                             ") holds %s%s; stop it first (nothing was removed)",
                             instance, pid, SHM_DIR, segs[i].name);
            else
                rc = err_set(MDF_ELIVE,
                             "instance \"%s\" is in use: a live mdfeedd holds %s%s; stop it "
                             "first (nothing was removed)",
                             instance, SHM_DIR, segs[i].name);
            goto out_close;
        }
    }
    snprintf(maps_prefix, sizeof(maps_prefix), "%s/%s", SHM_DIR, prefix);
    readers = n ? mappers(maps_prefix, who, sizeof(who)) : 0;

    rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (segs[i].fd < 0)
            continue;
        if (shm_unlink(segs[i].name) < 0) {
            if (errno == ENOENT)
                continue;
            rc = err_set(-errno, "cannot remove %s%s: %s", SHM_DIR, segs[i].name, strerror(errno));
            fprintf(out, "not removed: %s%s: %s\n", SHM_DIR, segs[i].name, strerror(errno));
            continue;
        }
        fprintf(out, "removed %s%s (%.1f %s)\n", SHM_DIR, segs[i].name,
                segs[i].size >= 1000000 ? (double)segs[i].size / 1e6 : (double)segs[i].size / 1e3,
                segs[i].size >= 1000000 ? "MB" : "kB");
        bytes += (uint64_t)segs[i].size;
        removed++;
    }
    if (removed == 0 && rc == 0)
        fprintf(out, "no segments of instance \"%s\" in %s\n", instance, SHM_DIR);
    else if (removed)
        fprintf(out, "removed %d segments of instance \"%s\" (%.1f MB)\n", removed, instance,
                (double)bytes / 1e6);
    if (removed && readers > 0)
        fprintf(out,
                "still mapped by %s: the names are gone, and the memory is freed when %s "
                "(readers see the daemon stopped; a new daemon creates new segments)\n",
                who, readers > 1 ? "they detach or exit" : "it detaches or exits");
    fflush(out);
    if (rc == 0)
        rc = removed;

out_close:
    for (size_t i = 0; i < n; i++)
        if (segs[i].fd >= 0)
            close(segs[i].fd); /* drops the lock */
out_free:
    free(segs);
    return rc;
}
