/*
 * Segment lifecycle. Writers: create with O_EXCL, or adopt a segment only when this user owns
 * it, it is a regular file (O_NOFOLLOW refuses symlinks), its mode and group are what the config
 * says, and no live daemon holds its flock. Readers: map PROT_READ and validate the header,
 * whose version word the writer stores last with release, so a half-built segment is never
 * taken for a ready one.
 *
 * A segment is sized with ftruncate, which only sets its length: tmpfs finds a page for a byte
 * when it is first touched, and when /dev/shm is full that touch is a SIGBUS, for the writer and
 * for a reader alike. So writers back with fallocate (seg_reserve) every range before anything
 * is stored there or published to readers: rings whole, at creation; the state segment's
 * entries as they are assigned. A reservation that fails is an error with a message, not a
 * signal later.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "core/atomics.h"
#include "core/clock.h"
#include "core/err.h"
#include "shm/segment.h"

int seg_check_instance(const char *instance)
{
    size_t n = instance ? strlen(instance) : 0;

    if (n == 0 || n >= MDF_INSTANCE_MAX)
        return err_set(-EINVAL, "instance name must be 1..%u characters", MDF_INSTANCE_MAX - 1);
    for (size_t i = 0; i < n; i++) {
        char c = instance[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return err_set(-EINVAL, "instance name \"%s\": only letters, digits, '_' and '-'",
                           instance);
    }
    return 0;
}

int seg_format_name(char *out, const char *instance, const char *segment)
{
    int rc = seg_check_instance(instance);

    if (rc < 0)
        return rc;
    snprintf(out, SEG_NAME_MAX, "%s%s.%s", MDF_SHM_PREFIX, instance, segment);
    return 0;
}

/* Reads the state letter (field 3) and start time (field 22, clock ticks since boot) of pid
 * from /proc/PID/stat. Returns 0, or -1 if the file cannot be read or parsed (no /proc, another
 * pid namespace, hidepid, or the process is gone). */
static int proc_stat(pid_t pid, char *state, uint64_t *start)
{
    char path[64], buf[1024], *p;
    unsigned long long st = 0;
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    /* The command name may hold spaces and parentheses: fields resume after the last ')'.
     * The state is the first token there, starttime the 20th. */
    p = strrchr(buf, ')');
    if (!p || p[1] != ' ' || !p[2])
        return -1;
    *state = p[2];
    p++;
    for (int field = 3; field < 22 && p; field++)
        p = strchr(p + 1, ' ');
    if (!p || sscanf(p + 1, "%llu", &st) != 1)
        return -1;
    *start = st;
    return 0;
}

uint64_t seg_proc_start(pid_t pid)
{
    uint64_t start;
    char state;

    return proc_stat(pid, &state, &start) == 0 ? start : 0;
}

bool seg_proc_gone(pid_t pid, uint64_t start)
{
    uint64_t now_start;
    char state;

    if (pid <= 0 || (kill(pid, 0) < 0 && errno == ESRCH))
        return true;
    if (proc_stat(pid, &state, &now_start) < 0)
        return false; /* it exists (kill said so) but cannot be looked at: assume it is ours */
    if (state == 'Z' || state == 'X')
        return true;                    /* exited; its parent has not reaped it yet */
    return start && now_start != start; /* the pid was reused by another process */
}

/* Checks an existing segment's file before adoption: regular, ours, right mode and group. */
static int check_owner(int fd, const struct seg_params *p, const char *name)
{
    struct stat st;

    if (fstat(fd, &st) < 0)
        return err_set(-errno, "fstat %s: %s", name, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return err_set(MDF_ESQUAT, "/dev/shm%s is not a regular file; refusing to adopt it", name);
    if (st.st_uid != geteuid())
        return err_set(MDF_ESQUAT,
                       "/dev/shm%s is owned by uid %u, not by this daemon's uid %u; refusing to "
                       "adopt it (remove it if it is not yours)",
                       name, (unsigned)st.st_uid, (unsigned)geteuid());
    /* A narrower mode is our own umask's, left when a writer was killed between creating
     * the file and widening it (the same user could do anything to it anyway): widen it. */
    if ((st.st_mode & 07777) != p->mode && !(st.st_mode & 07777 & ~p->mode) &&
        fchmod(fd, p->mode) == 0)
        st.st_mode = (st.st_mode & ~07777u) | p->mode;
    if ((st.st_mode & 07777) != p->mode)
        return err_set(MDF_ESQUAT,
                       "/dev/shm%s has mode %04o, expected %04o; refusing to adopt it (remove it "
                       "or fix its mode)",
                       name, (unsigned)(st.st_mode & 07777), (unsigned)p->mode);
    if (p->gid != (gid_t)-1 && st.st_gid != p->gid)
        return err_set(MDF_ESQUAT, "/dev/shm%s has group %u, expected %u; refusing to adopt it",
                       name, (unsigned)st.st_gid, (unsigned)p->gid);
    return 0;
}

/* Maps the file behind fd read-write through a new open file description. The flock lives on
 * fd's description, which then only the descriptor table holds: a mapping keeps its file alive
 * for as long as the address space lives, and an address space can outlive its process for a
 * moment (someone reading /proc/PID/stat holds it), which would keep a dead writer's lock. */
static void *map_rw(int fd, size_t size)
{
    char path[64];
    void *base;
    int mfd;

    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    mfd = open(path, O_RDWR | O_CLOEXEC);
    if (mfd < 0)
        return MAP_FAILED;
    base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
    close(mfd);
    return base;
}

int seg_reserve(struct seg *s, size_t off, size_t len)
{
    struct statvfs vfs;
    char free_text[96] = "";
    int rc;

    if (len == 0)
        return 0;
    if (off > s->size || len > s->size - off)
        return err_set(-EINVAL, "reserve %zu bytes at %zu: beyond the %zu bytes of %s", len, off,
                       s->size, s->name);
    /* tmpfs reserves whole pages; a range already backed (written or reserved) is left alone. */
    do
        rc = posix_fallocate(s->fd, (off_t)off, (off_t)len);
    while (rc == EINTR);
    if (rc == 0)
        return 0;
    if (fstatvfs(s->fd, &vfs) == 0)
        snprintf(free_text, sizeof(free_text), " (/dev/shm has %llu bytes free of %llu)",
                 (unsigned long long)vfs.f_bavail * vfs.f_frsize,
                 (unsigned long long)vfs.f_blocks * vfs.f_frsize);
    return err_set(rc == ENOSPC || rc == ENOMEM || rc == EFBIG ? ERR_SHM_SPACE : -rc,
                   "cannot back %zu bytes of /dev/shm%s with memory: %s%s", len, s->name,
                   strerror(rc), free_text);
}

/* Opens name with O_EXCL, sets mode and group, sizes it and maps it. */
static int create_new(struct seg *s, const struct seg_params *p)
{
    int fd, rc;
    void *base;

    fd = shm_open(s->name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, p->mode);
    if (fd < 0) {
        if (errno == EEXIST)
            return -EEXIST;
        return err_set(-errno, "cannot create /dev/shm%s: %s", s->name, strerror(errno));
    }
    /* umask may have narrowed the mode; the config's mode is the contract. */
    if (fchmod(fd, p->mode) < 0) {
        rc = err_set(-errno, "fchmod %s: %s", s->name, strerror(errno));
        goto err_unlink;
    }
    /* A new file already has our effective group: chown only to change it (the systemd unit's
     * seccomp filter refuses chown, and Group= gives the right group anyway). */
    if (p->gid != (gid_t)-1 && p->gid != getegid() && fchown(fd, (uid_t)-1, p->gid) < 0) {
        rc = err_set(-errno, "cannot give %s to group %u: %s", s->name, (unsigned)p->gid,
                     strerror(errno));
        goto err_unlink;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        rc = err_set(-errno, "flock %s: %s", s->name, strerror(errno));
        goto err_unlink;
    }
    if (ftruncate(fd, (off_t)p->size) < 0) {
        rc = err_set(-errno, "cannot size %s to %zu bytes: %s", s->name, p->size, strerror(errno));
        goto err_unlink;
    }
    s->size = p->size;
    s->fd = fd;
    /* Back what is always written before anything is; a failure leaves nothing behind. */
    if ((rc = seg_reserve(s, 0, p->reserve < p->size ? p->reserve : p->size)) < 0) {
        s->fd = -1;
        goto err_unlink;
    }
    base = map_rw(fd, p->size);
    if (base == MAP_FAILED) {
        rc = err_set(-errno, "mmap %s: %s", s->name, strerror(errno));
        s->fd = -1;
        goto err_unlink;
    }
    s->base = base;
    s->writable = true;
    {
        struct mdf_seg_header *h = base;

        /* Zero-filled by ftruncate; version stays 0 until seg_writer_ready. */
        h->magic = MDF_MAGIC;
        h->kind = p->kind;
        h->size = p->size;
        h->hb_interval_ns = (uint64_t)p->hb_interval_ns;
        snprintf(h->instance, sizeof(h->instance), "%s", p->instance);
        snprintf(h->name, sizeof(h->name), "%s", p->name);
    }
    return SEG_CREATED;

err_unlink:
    shm_unlink(s->name);
    close(fd);
    return rc;
}

/* Marks a mapped header retired so its readers know to reopen. */
static void retire(struct mdf_seg_header *h)
{
    /* Pairs with the acquire load in seg_retired: readers that see the flag reopen. */
    atomic_fetch_or_explicit(&h->flags, MDF_SEG_F_RETIRED, memory_order_release);
}

int seg_writer_open(struct seg *s, const struct seg_params *p)
{
    struct mdf_seg_header *h;
    struct stat st;
    int fd, rc;
    void *base;

    memset(s, 0, sizeof(*s));
    s->fd = -1;
    if ((rc = seg_format_name(s->name, p->instance, p->name)) < 0)
        return rc;
    if (p->size < sizeof(struct mdf_seg_header))
        return err_set(-EINVAL, "segment %s: size %zu too small", s->name, p->size);
    rc = create_new(s, p);
    if (rc != -EEXIST)
        return rc;

    /* The name exists: adopt it only if it is ours and nobody live holds it. */
    fd = shm_open(s->name, O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0);
    if (fd < 0) {
        if (errno == ELOOP)
            return err_set(MDF_ESQUAT, "/dev/shm%s is a symbolic link; refusing to follow it",
                           s->name);
        if (errno == EACCES)
            return err_set(MDF_ESQUAT,
                           "/dev/shm%s exists and is not writable by this daemon (another "
                           "user's file?); refusing to adopt it",
                           s->name);
        return err_set(-errno, "cannot open existing /dev/shm%s: %s", s->name, strerror(errno));
    }
    if ((rc = check_owner(fd, p, s->name)) < 0)
        goto err_close;
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno == EWOULDBLOCK) {
            int64_t pid = 0;

            if (fstat(fd, &st) == 0 && (size_t)st.st_size >= sizeof(*h)) {
                base = mmap(NULL, sizeof(*h), PROT_READ, MAP_SHARED, fd, 0);
                if (base != MAP_FAILED) {
                    /* Pairs with the release store of the epoch in seg_writer_ready. */
                    (void)load_acquire(&((struct mdf_seg_header *)base)->epoch);
                    pid = load_relaxed(&((struct mdf_seg_header *)base)->writer_pid);
                    munmap(base, sizeof(*h));
                }
            }
            if (pid > 0)
                rc = err_set(MDF_ELIVE,
                             "instance \"%s\" is owned by a live daemon (pid %" PRId64
                             "); refusing to start a second one",
                             p->instance, pid);
            else /* it holds the lock but has not published its pid yet */
                rc = err_set(MDF_ELIVE,
                             "instance \"%s\" is owned by a daemon that is starting; "
                             "refusing to start a second one",
                             p->instance);
        } else {
            rc = err_set(-errno, "flock %s: %s", s->name, strerror(errno));
        }
        goto err_close;
    }
    if (fstat(fd, &st) < 0) {
        rc = err_set(-errno, "fstat %s: %s", s->name, strerror(errno));
        goto err_close;
    }
    if ((size_t)st.st_size != p->size || (size_t)st.st_size < sizeof(*h)) {
        snprintf(s->replaced, sizeof(s->replaced), "its size was %lld bytes, %zu wanted",
                 (long long)st.st_size, p->size);
        goto replace;
    }
    base = map_rw(fd, p->size);
    if (base == MAP_FAILED) {
        rc = err_set(-errno, "mmap %s: %s", s->name, strerror(errno));
        goto err_close;
    }
    h = base;
    /* Pairs with the release store of version in seg_writer_ready (of the dead writer). */
    if (h->magic != MDF_MAGIC || h->kind != p->kind || h->size != p->size ||
        (load_acquire(&h->version) >> 16) != MDF_LAYOUT_MAJOR) {
        if (h->magic != MDF_MAGIC || h->kind != p->kind || h->size != p->size)
            snprintf(s->replaced, sizeof(s->replaced),
                     "its header was corrupt (magic, kind or size)");
        else
            snprintf(s->replaced, sizeof(s->replaced), "it had layout %u.x, this daemon %u.x",
                     (unsigned)(load_relaxed(&h->version) >> 16), MDF_LAYOUT_MAJOR);
        munmap(base, p->size);
        goto replace;
    }
    s->base = base;
    s->size = p->size;
    s->fd = fd;
    s->writable = true;
    /* What a dead daemon left sparse is backed now, before this one stores anything there. */
    if ((rc = seg_reserve(s, 0, p->reserve < p->size ? p->reserve : p->size)) < 0) {
        munmap(base, p->size);
        s->base = NULL;
        s->fd = -1;
        goto err_close;
    }
    h->hb_interval_ns = (uint64_t)p->hb_interval_ns;
    return SEG_ADOPTED;

replace:
    /* Ours, dead, but of another shape: retire it for its readers and start afresh. */
    if (fstat(fd, &st) == 0 && (size_t)st.st_size >= sizeof(*h)) {
        base = mmap(NULL, sizeof(*h), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (base != MAP_FAILED) {
            if (((struct mdf_seg_header *)base)->magic == MDF_MAGIC)
                retire(base);
            munmap(base, sizeof(*h));
        }
    }
    shm_unlink(s->name);
    close(fd);
    rc = create_new(s, p);
    if (rc == -EEXIST)
        rc = err_set(MDF_ESQUAT, "/dev/shm%s was re-created by someone else meanwhile", s->name);
    return rc;

err_close:
    close(fd);
    return rc;
}

int seg_writer_recreate(struct seg *s, const struct seg_params *p)
{
    char name[SEG_NAME_MAX];

    memcpy(name, s->name, sizeof(name));
    retire(s->base);
    shm_unlink(s->name);
    munmap(s->base, s->size);
    close(s->fd);
    memset(s, 0, sizeof(*s));
    s->fd = -1;
    memcpy(s->name, name, sizeof(name));
    snprintf(s->replaced, sizeof(s->replaced),
             "its geometry (ring, record or table sizes) differs from the configuration");
    return create_new(s, p);
}

void seg_writer_ready(struct seg *s)
{
    struct mdf_seg_header *h = s->base;
    int64_t now = clock_mono_ns();

    store_relaxed(&h->writer_pid, (int64_t)getpid());
    store_relaxed(&h->writer_start, seg_proc_start(getpid()));
    store_relaxed(&h->epoch_start_ns, clock_real_ns());
    store_relaxed(&h->heartbeat_ns, now);
    atomic_fetch_and_explicit(&h->flags, ~MDF_SEG_F_RETIRED, memory_order_relaxed);
    /* Pairs with the acquire load of epoch in readers: pid and start time above are visible to
     * anyone who sees the new epoch. */
    atomic_fetch_add_explicit(&h->epoch, 1, memory_order_release);
    /* Pairs with the acquire load of version in seg_reader_open: the whole segment, formatted
     * before this call, is visible to a reader that sees a nonzero version. */
    if (load_relaxed(&h->version) != MDF_LAYOUT_VERSION)
        store_release(&h->version, MDF_LAYOUT_VERSION);
}

void seg_heartbeat(struct seg *s, int64_t now_mono_ns)
{
    struct mdf_seg_header *h = s->base;

    /* Relaxed: readers compare it with their own clock only; it orders nothing else. */
    store_relaxed(&h->heartbeat_ns, now_mono_ns);
}

void seg_writer_close(struct seg *s, bool unlink_it)
{
    if (!s->base)
        return;
    if (unlink_it) {
        retire(s->base);
        shm_unlink(s->name);
    }
    munmap(s->base, s->size);
    if (s->fd >= 0)
        close(s->fd); /* drops the flock */
    s->base = NULL;
    s->fd = -1;
}

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22 /* Linux 5.14 */
#define MADV_POPULATE_WRITE 23
#endif

int seg_reader_backed(const struct seg *s, size_t off, size_t len)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), a, b;

    if (len == 0 || off >= s->size)
        return 0;
    if (len > s->size - off)
        len = s->size - off;
    a = off / page * page;
    b = off + len;
    /* Faults the pages in as a read (a write on the doorbell) would, but reports a page that
     * cannot be backed as EFAULT instead of a SIGBUS. Pages already backed cost a page-table
     * entry each. */
    if (madvise((uint8_t *)s->base + a, b - a,
                s->writable ? MADV_POPULATE_WRITE : MADV_POPULATE_READ) == 0)
        return 0;
    if (errno == EINVAL)
        return 0; /* a kernel before 5.14 cannot tell: read as before */
    return err_set(-ENOSPC,
                   "/dev/shm%s has pages that no memory backs and /dev/shm cannot back them "
                   "(%s): reading it would crash this process with SIGBUS",
                   s->name, strerror(errno));
}

int seg_reader_open(struct seg *s, const char *instance, const char *segment, uint32_t kind,
                    bool rw)
{
    const struct mdf_seg_header *h;
    struct stat st;
    uint32_t version;
    void *base;
    int fd, rc;

    memset(s, 0, sizeof(*s));
    s->fd = -1;
    if ((rc = seg_format_name(s->name, instance, segment)) < 0)
        return rc;
    fd = shm_open(s->name, (rw ? O_RDWR : O_RDONLY) | O_NOFOLLOW | O_CLOEXEC, 0);
    if (fd < 0) {
        rc = -errno;
        if (rc == -ENOENT)
            return err_set(rc,
                           "no segment /dev/shm%s (is the daemon running for instance "
                           "\"%s\"?)",
                           s->name, instance);
        if (rc == -EACCES)
            return err_set(rc,
                           "cannot read /dev/shm%s: permission denied (join the daemon's "
                           "group)",
                           s->name);
        return err_set(rc, "cannot open /dev/shm%s: %s", s->name, strerror(errno));
    }
    if (fstat(fd, &st) < 0) {
        rc = err_set(-errno, "fstat %s: %s", s->name, strerror(errno));
        goto out_close;
    }
    if ((size_t)st.st_size < sizeof(*h)) {
        rc = err_set(st.st_size == 0 ? MDF_ENOTREADY : MDF_EBADSEG,
                     "/dev/shm%s is too small (%lld bytes)", s->name, (long long)st.st_size);
        goto out_close;
    }
    base =
        mmap(NULL, (size_t)st.st_size, rw ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) {
        rc = err_set(-errno, "mmap %s: %s", s->name, strerror(errno));
        goto out_close;
    }
    close(fd);
    h = base;
    /* Pairs with the release store in seg_writer_ready: after a nonzero version the header
     * and body the writer formatted are visible. */
    version = load_acquire(&((struct mdf_seg_header *)base)->version);
    if (version == 0)
        rc = err_set(MDF_ENOTREADY, "/dev/shm%s is still being built", s->name);
    else if (h->magic != MDF_MAGIC)
        rc = err_set(MDF_EBADSEG, "/dev/shm%s is not an mdfeed segment", s->name);
    else if ((version >> 16) != MDF_LAYOUT_MAJOR)
        rc = err_set(MDF_EVERSION, "/dev/shm%s has layout %u.%u, this library reads %u.x", s->name,
                     version >> 16, version & 0xffff, MDF_LAYOUT_MAJOR);
    else if (h->kind != kind || h->size != (uint64_t)st.st_size)
        rc = err_set(MDF_EBADSEG, "/dev/shm%s has the wrong kind or size", s->name);
    else
        rc = 0;
    if (rc < 0) {
        munmap(base, (size_t)st.st_size);
        return rc;
    }
    s->base = base;
    s->size = (size_t)st.st_size;
    s->writable = rw;
    /* Rings, doorbell and health are written all over, and their writer backs them whole. One
     * that is not backed whole (an older writer's, or a hole punched in it) is faulted in now,
     * where a full /dev/shm is an error rather than a SIGBUS at some later read. The state
     * segment is sparse by design: its reader checks what is published (state_rx_backed). */
    if (kind != MDF_SEG_STATE && (uint64_t)st.st_blocks * 512 < (uint64_t)st.st_size &&
        (rc = seg_reader_backed(s, 0, s->size)) < 0) {
        seg_reader_close(s);
        return rc;
    }
    return 0;

out_close:
    close(fd);
    return rc;
}

void seg_reader_close(struct seg *s)
{
    if (s->base)
        munmap(s->base, s->size);
    s->base = NULL;
}

bool seg_retired(const struct mdf_seg_header *h)
{
    /* Pairs with the release in retire(): a retired segment will see no more writes. */
    return load_acquire(&((struct mdf_seg_header *)h)->flags) & MDF_SEG_F_RETIRED;
}

int seg_liveness(const struct mdf_seg_header *hc, int64_t now_mono_ns)
{
    struct mdf_seg_header *h = (struct mdf_seg_header *)hc;
    int64_t pid, hb;
    uint64_t start;

    if (seg_retired(h))
        return MDF_RETIRED;
    /* Pairs with the release increment of epoch in seg_writer_ready: pid and start time of
     * the current owner are read after its epoch. */
    (void)load_acquire(&h->epoch);
    pid = load_relaxed(&h->writer_pid);
    start = load_relaxed(&h->writer_start);
    if (pid <= 0 || pid > INT32_MAX || seg_proc_gone((pid_t)pid, start))
        return MDF_DEAD;
    /* The process lives: dead only if its loop has not beaten for far longer than a loaded
     * machine can delay it. Relaxed: compared with our own monotonic clock only. */
    hb = load_relaxed(&h->heartbeat_ns);
    if (h->hb_interval_ns > 0 && now_mono_ns - hb > MDF_DEAD_AFTER_NS(h->hb_interval_ns))
        return MDF_DEAD;
    return MDF_ALIVE;
}
