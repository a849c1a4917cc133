/* thread_regs.h - the registers of a thread of another process, taken
 * without disturbing it: ptrace seize, interrupt, read, detach. A ptrace
 * stop restarts a system call it interrupted without the thread seeing
 * EINTR, which a signal cannot promise.
 */
#ifndef KILN_CAPTURE_THREAD_REGS_H
#define KILN_CAPTURE_THREAD_REGS_H

#include <stdint.h>

/* Fills regs[0..*n) (at most cap words, ptrace's register set) and *sp
 * with thread tid's, then lets it run on. Returns 0, -ESRCH when the
 * thread is gone, or -errno (-EPERM: ptrace is not permitted). The caller
 * must be allowed to wait for tid (nobody else may reap its stops). */
int thread_regs_take(uint32_t tid, uint64_t *regs, uint32_t cap, uint32_t *n, uint64_t *sp);

#endif
