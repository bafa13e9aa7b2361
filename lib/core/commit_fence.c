/* commit_fence.c: after a failed Xapian commit, nothing more is written.
 *
 * Xapian 1.4.22 (glass, Debian 12) rolls a failed commit back in
 * GlassDatabase::modifications_failed(): it cancels, reopens the tables at
 * the last revision R and commits an empty revision R+2 to step over the
 * failed R+1.  The tables' free lists keep the block buffers of the failed
 * attempt (GlassFreeList::p and ::pw survive cancel() and open(), which
 * reset only the cursors), so when R+1 had moved a free list on to a new
 * block, that R+2 commit writes the failed attempt's free-list block over
 * R's last one, in place.  The free list then ends early or names blocks
 * in use: every later commit fails with "Ran off end of freelist", or
 * overwrites live blocks, and xapian-check reports "Same block is in
 * freelist more than once".  Any failure after the tables were written
 * triggers it: fdatasync (ENOSPC, EIO), the version file's write or
 * rename, a block write of the final flush (tests/RELIABILITY.md).
 *
 * The fix: this file defines the four calls libxapian makes to commit
 * (fdatasync, pwrite, write, rename).  A program's own definitions take
 * precedence over libc's for every shared library, so libxapian calls
 * these.  Outside an armed commit, or on another thread, they only call
 * the next definition (libc's, or a sanitizer's: dlsym(RTLD_NEXT)).
 * Inside one (ps_commit_fence_arm, lib/core/write.cc), the first failure trips
 * the fence, and from then on the thread can neither write a block, sync
 * nor rename until disarmed: the rollback commit fails at once and Xapian
 * closes the handle ("couldn't open at the old revision"), leaving the
 * files as a kill -9 at the failing call would (fault_daemon_kill_sweep
 * proves that state sound): the last durable revision, untouched.  A
 * repeat of the failed pwrite (same descriptor, offset and size) still
 * goes through: a Xapian destructor rewrites the failed block while the
 * exception unwinds, and a second throw there is std::terminate.
 */
#include "commit_fence.h"

#if defined(__linux__) && defined(__LP64__)

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

/* Per thread: the armed commit. */
struct fence {
    int depth;          /* ps_commit_fence_arm nesting; 0 = not armed */
    int err;            /* errno that tripped it; 0 = not tripped */
    int failed_pwrite;  /* a pwrite tripped it: fd/off/count below */
    int fd;
    off_t off;
    size_t count;
};
static _Thread_local struct fence t_fence;

typedef int (*fdatasync_fn)(int);
typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);
typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef int (*rename_fn)(const char *, const char *);

/* Used when dlsym finds no next definition (a static program). */
static int raw_fdatasync(int fd)
{
    return (int)syscall(SYS_fdatasync, fd);
}

static ssize_t raw_pwrite(int fd, const void *buf, size_t count, off_t off)
{
    return (ssize_t)syscall(SYS_pwrite64, fd, buf, count, off);
}

static ssize_t raw_write(int fd, const void *buf, size_t count)
{
    return (ssize_t)syscall(SYS_write, fd, buf, count);
}

static int raw_rename(const char *from, const char *to)
{
#ifdef SYS_rename
    return (int)syscall(SYS_rename, from, to);
#else
    return (int)syscall(SYS_renameat, AT_FDCWD, from, AT_FDCWD, to);
#endif
}

/* Stores in out (a function pointer of size bytes) the next definition of
 * name, else *fallback.  Any thread; every thread resolves the same
 * pointer, so a race only repeats the lookup. */
static void resolve(_Atomic(void *) *slot, const char *name, void *out,
                    const void *fallback, size_t size)
{
    void *p = atomic_load_explicit(slot, memory_order_relaxed);
    if (!p) {
        p = dlsym(RTLD_NEXT, name);
        if (p)
            atomic_store_explicit(slot, p, memory_order_relaxed);
    }
    if (p)
        memcpy(out, &p, size);
    else
        memcpy(out, fallback, size);
}

static _Atomic(void *) next_fdatasync, next_pwrite, next_write, next_rename;

static int is_failure(long r)
{
    return r < 0 && errno != EINTR && errno != EAGAIN;
}

/* Records the first failure of an armed commit; keeps errno. */
static void trip(void)
{
    if (t_fence.depth > 0 && t_fence.err == 0)
        t_fence.err = errno ? errno : EIO;
}

static int refused(void)
{
    return t_fence.depth > 0 && t_fence.err != 0;
}

/* What a refused call returns: -1 with the errno that tripped the fence. */
static int refuse(void)
{
    errno = t_fence.err;
    return -1;
}

/* The interposed calls: what libc's do (same result and errno), except on
 * a thread whose armed commit already failed (see the top of this file).
 * A failure inside an armed commit trips the fence.  Any thread. */
int fdatasync(int fd)
{
    if (refused())
        return refuse();
    fdatasync_fn f;
    static const fdatasync_fn fb = raw_fdatasync;
    resolve(&next_fdatasync, "fdatasync", &f, &fb, sizeof f);
    int r = f(fd);
    if (is_failure(r))
        trip();
    return r;
}

ssize_t pwrite(int fd, const void *buf, size_t count, off_t off)
{
    if (refused() && !(t_fence.failed_pwrite && fd == t_fence.fd &&
                       off == t_fence.off && count == t_fence.count))
        return refuse();
    pwrite_fn f;
    static const pwrite_fn fb = raw_pwrite;
    resolve(&next_pwrite, "pwrite", &f, &fb, sizeof f);
    ssize_t r = f(fd, buf, count, off);
    if (is_failure(r) && t_fence.depth > 0 && t_fence.err == 0) {
        trip();
        t_fence.failed_pwrite = 1;
        t_fence.fd = fd;
        t_fence.off = off;
        t_fence.count = count;
    }
    return r;
}

ssize_t write(int fd, const void *buf, size_t count)
{
    write_fn f;
    static const write_fn fb = raw_write;
    resolve(&next_write, "write", &f, &fb, sizeof f);
    ssize_t r = f(fd, buf, count);
    if (is_failure(r))
        trip();
    return r;
}

int rename(const char *from, const char *to)
{
    if (refused())
        return refuse();
    rename_fn f;
    static const rename_fn fb = raw_rename;
    resolve(&next_rename, "rename", &f, &fb, sizeof f);
    int r = f(from, to);
    if (is_failure(r))
        trip();
    return r;
}

void ps_commit_fence_arm(void)
{
    t_fence.depth++;
}

int ps_commit_fence_disarm(void)
{
    if (t_fence.depth == 0)
        return 0;
    int e = t_fence.err;
    if (--t_fence.depth == 0)
        memset(&t_fence, 0, sizeof t_fence);
    return e;
}

int ps_commit_fence_available(void)
{
    return 1;
}

#else  /* not Linux/64-bit: no fence */

void ps_commit_fence_arm(void)
{
}

int ps_commit_fence_disarm(void)
{
    return 0;
}

int ps_commit_fence_available(void)
{
    return 0;
}

#endif
