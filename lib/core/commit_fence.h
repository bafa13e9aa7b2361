/* commit_fence.h: a per-thread write fence around one Xapian commit.
 *
 * Works around a Xapian 1.4 (glass) bug that corrupts the database when a
 * commit fails after its blocks were written: see commit_fence.c and
 * tests/RELIABILITY.md ("ENOSPC on fdatasync").  Linux, 64-bit only;
 * elsewhere arm/disarm do nothing.  Pure C.
 */
#ifndef PS_COMMIT_FENCE_H
#define PS_COMMIT_FENCE_H

#ifdef __cplusplus
extern "C" {
#endif

/* Arms the fence of the calling thread for one commit: from the first
 * failed fdatasync(), pwrite(), write() or rename() (EINTR/EAGAIN
 * excepted) made by this thread until ps_commit_fence_disarm(), every
 * fdatasync(), rename() and pwrite() of this thread fails with that
 * errno without reaching the kernel (a pwrite() repeating the failed one,
 * same descriptor, offset and size, still goes through).  Other threads
 * are never affected.  Calling thread only; nests (the outermost disarm
 * ends it). */
void ps_commit_fence_arm(void);

/* Ends what ps_commit_fence_arm() began.  Returns the errno that tripped
 * the fence, or 0 if nothing failed.  Calling thread only. */
int ps_commit_fence_disarm(void);

/* 1 if the fence is compiled in (Linux, 64-bit), else 0.  Any thread. */
int ps_commit_fence_available(void);

#ifdef __cplusplus
}
#endif

#endif
