/* qemu_format.h - the file libkiln-qemu.so writes for each process it runs
 * in (DIR/PID.qc) and qemu_count.c reads: text lines, rewritten whole at
 * each flush (every second and at exit; a file without "end" is from
 * a process that died by a signal or exec'ed).
 *
 *   kiln-qemu 1
 *   pid PID / ppid PPID
 *   cache I1SIZE I1ASSOC I1LINE D1SIZE D1ASSOC D1LINE LLSIZE LLASSOC LLLINE   (cache mode)
 *   map START END PGOFF PATH          guest mapping holding translated code (hex)
 *   tb ID VADDR N SIZE1 .. SIZEN      a translated block: address (hex), instruction sizes
 *   node ID PARENT SITE               call path: the call at SITE (hex) from node PARENT (0: root)
 *   e NODE TB EXECS [N*8 counters]    block TB ran EXECS times in call path NODE; in cache
 *                                     mode per instruction: I1mr ILmr Dr Dw D1mr D1mw DLmr DLmw
 *   c NODE TB CALLS                   of those, CALLS entered a function called in path NODE
 *                                     (TB is its entry: the first block after the call, past
 *                                     PLT stubs); after its "e" line, only when not 0
 *   exec PATH                         the process exec'ed PATH, which ran outside qemu
 *   end
 *
 * Beside it, DIR/PID.maps holds the same "map" lines (under the magic and
 * pid lines) as soon as each is seen, and DIR/PID.last, KQ_LAST_SLOTS
 * lines of 64 bytes, one per thread, starts each with the address (u64,
 * host order) of the last instruction of the block the thread last
 * translated: after a death by SIGILL it is the instruction QEMU could not
 * decode (a block is translated just before its first run).
 *
 * With feed=FIFO, each new block's instructions also go to FIFO as soon
 * as they are translated, for kiln to symbolize while the program runs:
 *
 *   t OFFSET N SIZE1 .. SIZEN PATH    a block at file OFFSET (hex) of PATH
 *
 * in writes of at most KQ_FEED_CHUNK bytes of whole lines (a pipe takes
 * such a write whole, so processes sharing the FIFO never interleave);
 * a write the pipe has no room for is dropped.
 */
#ifndef KILN_CAPTURE_QEMU_FORMAT_H
#define KILN_CAPTURE_QEMU_FORMAT_H

#define KQ_MAGIC      "kiln-qemu 1"
#define KQ_LAST_SLOTS 64
#define KQ_FEED_CHUNK 4096 /* PIPE_BUF */

enum kq_cache_event { KQ_I1MR = 0, KQ_ILMR, KQ_DR, KQ_DW, KQ_D1MR, KQ_D1MW, KQ_DLMR, KQ_DLMW, KQ_CACHE_EVENTS };

#endif
