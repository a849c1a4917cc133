/* channel_format.h - the wire format between libkiln-agent.so (in the
 * target) and kiln (src/capture/agent_channel.c): one shared-memory ring per
 * traced process, a file in the directory named by KILN_HEAP_DIR.
 *
 * The agent runs in one mode (agent_mode.h), chosen by kiln in KH_ENV_MODE
 * and stamped in each ring's header (kh_ring_header.mode). The records of
 * the core (maps, exec, exit) are every mode's; each mode adds its own
 * kinds (the heap mode: stacks, allocations, frees, the leak scan).
 *
 * The agent is the only writer of head and the records; kiln the only
 * writer of tail. A full ring makes the agent wait: nothing is dropped.
 * Records are 8-byte aligned: a header {type, size}, then the payload.
 * A record never wraps: the writer pads to the end of the ring first.
 *
 * Leak scan handshake at exit: the agent writes KH_REC_SCAN_REQUEST and sets
 * scan_state = KH_SCAN_REQUESTED; kiln builds the "live image" of that
 * process (a kh_live_header, then every live block, sorted by address, as
 * n kh_live_block, then n class bytes, then, from the next multiple of 8,
 * the regions kh_live_region), sets live_size to its size and passes it
 * through the ring's data area, which is free then (the agent holds its
 * lock and waits, kiln has read every record), in pieces of at most
 * KH_RING_SIZE bytes: it copies bytes [xfer_off, xfer_off + xfer_len) of
 * the image to the start of the data area and sets KH_SCAN_READY; the
 * agent copies them into memory of its own and, while the image is not
 * whole, sets KH_SCAN_REQUESTED for the next piece. Then it scans, fills
 * the class bytes and each region's scanned bytes and flags, and sends
 * the image back from its class bytes on the same way in reverse: each
 * piece at the start of the data area with xfer_off and xfer_len, and
 * KH_SCAN_PART; kiln copies it and answers KH_SCAN_TAKEN. After the last
 * piece is taken the agent sets KH_SCAN_DONE. No file is opened at exit:
 * a host may forbid open(2) by then (seccomp).
 *
 * The regions are the process's other writable private mappings, read by
 * kiln from /proc/PID/maps while the agent waits (the agent opens no /proc
 * file at exit): anonymous memory (mmap'ed pools such as pymalloc's arenas
 * or GCC's collected heap) and privately mapped files, as memcheck scans
 * them. kiln leaves out the main stack, the brk heap and glibc's other
 * arena heaps (malloc's own memory: memcheck never scans an allocator's
 * free chunks), devices, and what is not both readable and writable. The
 * agent leaves out of each what it scans another way or must not scan:
 * the loaded modules' writable segments, thread stacks (scanned from
 * their stack pointers), its own tables and the live blocks' bytes.
 *
 * Before that, the agent asks for its other threads (they hold roots too):
 * it sets peer_state = KH_SCAN_REQUESTED and writes KH_REC_PEERS; kiln
 * stops each other thread for a moment with ptrace (a ptrace stop restarts
 * an interrupted system call transparently, unlike a signal), takes its
 * registers, lets it go, and writes peer_n struct kh_peer at the start of
 * the ring's data area (free then: the agent holds its lock and waits, and
 * kiln has read every record), sets peer_threads and peer_state =
 * KH_SCAN_READY. The agent copies them out before it writes again. Where
 * ptrace is refused, kiln sends the whole stack mappings of the threads
 * without registers and sets KH_PEERS_NO_REGS in peer_flags.
 *
 * An allocation whose stack is new to its thread names its stack one
 * event late, so the agent's lookup of the stack overlaps with the
 * program's own work: its record carries KH_STACK_PENDING, and the next
 * records in the ring are the stack's new nodes (KH_REC_STACK), if any,
 * then KH_REC_STACK_OF with its id. Meanwhile the stack's frames wait in
 * the ring's first page (struct kh_pending), so that kiln still has them
 * if the process dies before it could name the stack.
 */
#ifndef KILN_AGENT_CHANNEL_FORMAT_H
#define KILN_AGENT_CHANNEL_FORMAT_H

#include <stdint.h>

#define KH_MAGIC        0x4b494c4e48454150ull /* "KILNHEAP" */
#define KH_VERSION      4
#define KH_ENV_DIR      "KILN_HEAP_DIR"   /* directory for ring files */
#define KH_ENV_KILN_PID "KILN_HEAP_PID"   /* kiln's pid: the agent stops waiting if it dies */
#define KH_ENV_MODE     "KILN_AGENT_MODE" /* the agent's mode: "heap" (unset) or "cpu" */
#define KH_RING_SIZE    (8u << 20)        /* data bytes per ring, a power of two */
#define KH_HEADER_SIZE  4096u             /* the data starts one page in */
#define KH_MAX_STACK    128               /* frames kept per stack */

/* The agent's modes (agent_mode.h); 0 in a ring of an agent before modes. */
enum kh_mode {
	KH_MODE_HEAP = 1,     /* allocations, frees, the leak scan at exit */
	KH_MODE_CPU = 2,      /* CPU-time samples of every thread (agent_cpu.c) */
	KH_MODE_MEMCHECK = 3, /* a guard-page allocator that reports heap errors (agent_memcheck.c) */
	KH_MODE_LOCK = 4,     /* lock waits, wakes and hold times (agent_lock.c) */
};

enum kh_scan_state {
	KH_SCAN_NONE = 0,
	KH_SCAN_REQUESTED = 1,
	KH_SCAN_READY = 2,
	KH_SCAN_DONE = 3,
	KH_SCAN_FAILED = 4, /* kiln could not build the live image, or the agent take it */
	KH_SCAN_PART = 5,   /* the agent put a piece of the scanned image in the data area */
	KH_SCAN_TAKEN = 6,  /* kiln copied that piece: the agent may put the next */
};

/* Spare rings for a sandboxed process tree. A host that installs a
 * seccomp filter may forbid open(2) from then on, and its later fork
 * children could not make their rings. So just before a filter goes in
 * (the agent interposes prctl(PR_SET_SECCOMP) and syscall(SYS_seccomp))
 * the agent makes one pool file, KH_POOL_NAME_SUFFIX in KILN_HEAP_DIR: a
 * page of struct kh_pool_header, then `slots` spare rings, each laid out
 * as a ring file (KH_HEADER_SIZE + KH_RING_SIZE bytes). It maps it shared
 * and closes it, so every later fork child inherits the mapping. A child
 * takes a slot by moving its state from KH_SLOT_FREE to KH_SLOT_TAKEN
 * (compare and swap), then fills the slot's ring header, magic last, and
 * writes as in a ring of its own. kiln maps the pool when it lists the
 * directory, reads each taken slot whose magic is set as a new ring, and
 * when that ring ends zeroes its header page and sets KH_SLOT_FREE: the
 * slot serves the next child. A child that finds no free slot records
 * nothing and only counts (the counted_* fields, atomically) until it
 * exits; kiln says so. */
#define KH_POOL_MAGIC       0x4b494c4e504f4f4cull /* "KILNPOOL" */
#define KH_POOL_VERSION     1
#define KH_POOL_NAME_SUFFIX ".pool"
#define KH_POOL_SLOTS_MAX   64 /* KILN_HEAP_SPARES may ask for fewer than the default */
#define KH_POOL_SLOTS_DEF   8
#define KH_POOL_PIDS        32 /* counting-only processes named by pid */
#define KH_ENV_SPARES       "KILN_HEAP_SPARES"

enum kh_slot_state {
	KH_SLOT_FREE = 0,
	KH_SLOT_TAKEN = 1,
};

struct kh_pool_header {
	uint64_t magic;
	uint32_t version;
	uint32_t slots;   /* spare rings after this page */
	uint32_t owner;   /* the process that made the pool */
	uint32_t counted; /* processes that found no free slot */
	uint64_t counted_allocs, counted_frees, counted_bytes;
	uint32_t counted_pids[KH_POOL_PIDS]; /* the first KH_POOL_PIDS of them */
	uint32_t state[KH_POOL_SLOTS_MAX];   /* enum kh_slot_state */
};
_Static_assert(sizeof(struct kh_pool_header) <= 4096, "the pool header is one page");

#define KH_POOL_HEADER_SIZE 4096u
#define KH_RING_FILE_SIZE   ((uint64_t)KH_HEADER_SIZE + KH_RING_SIZE)

/* Where slot i's ring starts, given the pool's first byte. */
static inline struct kh_ring_header *kh_pool_slot(const struct kh_pool_header *p, uint32_t i)
{
	return (struct kh_ring_header *)((uintptr_t)p + KH_POOL_HEADER_SIZE + (uint64_t)i * KH_RING_FILE_SIZE);
}

/* The ring file's first page. */
struct kh_ring_header {
	uint64_t magic;
	uint32_t version;
	uint32_t pid;       /* the process that writes this ring */
	uint32_t ppid;      /* its parent when it was created */
	uint32_t data_size; /* KH_RING_SIZE */
	uint64_t start_ns;  /* CLOCK_MONOTONIC when the ring was created */
	uint32_t closed;    /* set by the agent after its last record */
	uint32_t scan_state;
	uint64_t waits;        /* times the agent found the ring full */
	uint32_t peer_state;   /* enum kh_scan_state: the KH_REC_PEERS handshake */
	uint32_t peer_threads; /* threads of the process besides the one exiting */
	uint32_t peer_n;       /* struct kh_peer at the start of the data area */
	uint32_t peer_flags;   /* KH_PEERS_* */
	uint32_t reader_gone;  /* set by kiln when it stops reading this ring: the agent stops waiting */
	uint32_t mode;         /* enum kh_mode: what the agent records */
	uint64_t live_size;    /* the scan handshake's live image, in bytes */
	uint64_t xfer_off;     /* the piece of it at the start of the data area */
	uint64_t xfer_len;
	uint64_t pad0[2];
	uint64_t head __attribute__((aligned(64))); /* bytes written, ever */
	uint64_t tail __attribute__((aligned(64))); /* bytes read, ever */
};

/* The frames of the pending allocation's stack, at KH_PENDING_OFFSET in
 * the ring's first page. The agent writes nframes (0: none) after the
 * frames, and clears it once KH_REC_STACK_OF is in the ring. */
#define KH_PENDING_OFFSET 2048u
struct kh_pending {
	uint32_t nframes;
	uint32_t pad;
	uint64_t frames[KH_MAX_STACK]; /* innermost first */
};
_Static_assert(sizeof(struct kh_ring_header) <= KH_PENDING_OFFSET, "the pending stack overlaps the header");
_Static_assert(KH_PENDING_OFFSET + sizeof(struct kh_pending) <= KH_HEADER_SIZE, "the pending stack overlaps the data");

/* A ring's pending stack, given its first page. */
static inline struct kh_pending *kh_pending_of(const struct kh_ring_header *h)
{
	return (struct kh_pending *)((uintptr_t)h + KH_PENDING_OFFSET);
}

enum kh_rec_type {
	KH_REC_PAD = 0,          /* skip to the end of the ring */
	KH_REC_STACK = 1,        /* struct kh_rec_stack + nframes u64 addresses: new stack-trie nodes */
	KH_REC_ALLOC = 2,        /* struct kh_rec_alloc */
	KH_REC_FREE = 3,         /* struct kh_rec_free */
	KH_REC_REALLOC = 4,      /* struct kh_rec_realloc */
	KH_REC_MAPS = 5,         /* a piece of /proc/self/maps text, zero-padded */
	KH_REC_MAPS_END = 6,     /* the maps text is complete */
	KH_REC_SCAN_REQUEST = 7, /* struct kh_rec_exit: exit reached, scan handshake follows */
	KH_REC_EXIT = 8,         /* struct kh_rec_exit: the last record */
	KH_REC_EXEC = 9,         /* the process is about to exec: maps were sent */
	KH_REC_STACK_OF = 10,    /* struct kh_rec_stack_of: the stack of the pending allocation */
	KH_REC_FREERES = 11,     /* at exit, libc frees its caches next, blocks made before the agent among them */
	KH_REC_PEERS = 12,       /* struct kh_rec_peers: exit reached, send the other threads' roots */
	KH_REC_CPU_SAMPLE = 13,  /* struct kh_rec_cpu_sample + nframes u64 addresses (the cpu mode) */
	KH_REC_THREAD = 14,      /* struct kh_rec_thread: a thread's name, when first seen or changed */
	KH_REC_CPU_LOST = 15,    /* struct kh_rec_cpu_lost: samples dropped not yet told in a sample */
	KH_REC_MEM_ERROR = 16,   /* struct kh_rec_mem_error + frames (the memcheck mode) */
	KH_REC_MEM_STATS = 17,   /* struct kh_rec_mem_stats: the memcheck mode's counts, at exit */
	KH_REC_MEM_LIVE = 18,    /* struct kh_rec_mem_live + frames: a block live at exit, before the leak scan */
	KH_REC_ALLOCATOR = 19,   /* struct kh_rec_allocator: which allocator path the agent sees, at start */
	KH_REC_LOCK_WAIT = 20,   /* struct kh_rec_lock_wait + nframes u64 addresses (the lock mode) */
	KH_REC_LOCK_WAKE = 21,   /* struct kh_rec_lock_wake: one futex word's wakes through syscall(), at exit */
	KH_REC_LOCK_HOLD = 22,   /* struct kh_rec_lock_hold: one lock's acquisitions and hold time, at exit */
};

struct kh_rec_header {
	uint32_t type;
	uint32_t size; /* whole record including this header, a multiple of 8 */
};

/* Stacks are nodes of a trie, root first, as the agent finds them: node
 * `first` has parent `parent` and address frames[0], node first+1 has
 * parent `first` and address frames[1], and so on; the last is the leaf of
 * the stack just seen. Ids start at 1 per ring; 0 is the root (no frame).
 * An allocation names its leaf node. */
struct kh_rec_stack {
	struct kh_rec_header h;
	uint32_t first;
	uint32_t parent;
	uint32_t nframes;
	uint32_t pad;
	/* uint64_t frames[nframes]: return addresses minus one, outermost first */
};

struct kh_rec_alloc {
	struct kh_rec_header h;
	uint64_t time; /* ns, CLOCK_MONOTONIC */
	uint64_t addr;
	uint64_t size;
	uint32_t tid;
	uint32_t stack;
};

#define KH_STACK_PENDING UINT32_MAX /* stack: named by the KH_REC_STACK_OF that follows */

struct kh_rec_stack_of {
	struct kh_rec_header h;
	uint32_t stack;
	uint32_t pad;
};

struct kh_rec_free {
	struct kh_rec_header h;
	uint64_t time;
	uint64_t addr;
	uint32_t tid;
	uint32_t pad;
};

struct kh_rec_realloc {
	struct kh_rec_header h;
	uint64_t time;
	uint64_t old_addr;
	uint64_t addr;
	uint64_t size;
	uint32_t tid;
	uint32_t stack;
};

struct kh_rec_exit {
	struct kh_rec_header h;
	uint64_t time;
	uint64_t max_rss_kb;      /* getrusage ru_maxrss */
	uint64_t bootstrap_bytes; /* served from the agent's static arena */
	uint64_t untracked;       /* calls the agent could not record (out of memory) */
};

/* The cpu mode: a thread's CPU-time timer expired. frames[0] is the
 * interrupted pc, the others return addresses, innermost first. period is
 * the thread CPU time the sample stands for (the timer's interval times
 * one plus its overruns: a CPU-time timer is checked at the kernel's tick,
 * so at high rates one signal stands for several intervals). lost counts
 * the samples this process dropped since the last sample it wrote (a
 * signal that came while the agent was busy, a full ring). */
#define KH_CPU_CUT 1u /* kh_rec_cpu_sample.flags: the stack was cut short (no rule, off the stack) */
struct kh_rec_cpu_sample {
	struct kh_rec_header h;
	uint64_t time; /* ns, CLOCK_MONOTONIC */
	uint64_t period;
	uint64_t lost;
	uint32_t tid;
	uint16_t nframes;
	uint16_t flags;
	/* uint64_t frames[nframes] */
};

struct kh_rec_thread {
	struct kh_rec_header h;
	uint64_t time;
	uint32_t tid;
	uint32_t pad;
	char name[16]; /* NUL-terminated, as prctl(PR_GET_NAME) gives it */
};

struct kh_rec_cpu_lost {
	struct kh_rec_header h;
	uint64_t lost;
	uint64_t signals; /* timer signals this process received in all */
};

/* The lock mode (agent_lock.c): a thread waited for the lock (or futex
 * word) at addr from time for ns; frames innermost first, from the caller
 * of the interposed function. kind says which function waited (a futex
 * wait through syscall() says nothing: its stack does). */
enum kh_lock_kind {
	KH_LOCK_FUTEX = 0,
	KH_LOCK_MUTEX = 1,
	KH_LOCK_RWLOCK = 2,
	KH_LOCK_SEMAPHORE = 3,
	KH_LOCK_CONDVAR = 4,
};

struct kh_rec_lock_wait {
	struct kh_rec_header h;
	uint64_t time; /* ns, CLOCK_MONOTONIC: when the wait began */
	uint64_t ns;
	uint64_t addr;
	uint32_t tid;
	uint16_t nframes;
	uint16_t kind; /* enum kh_lock_kind */
	               /* uint64_t frames[nframes] */
};

/* At exit, per futex word woken through syscall(): how often, the first
 * thread that woke it, and KH_WAKE_SEVERAL when others did too (kiln tells
 * per-thread parking words by who wakes them). */
#define KH_WAKE_SEVERAL 1u
struct kh_rec_lock_wake {
	struct kh_rec_header h;
	uint64_t wakes;
	uint64_t addr;
	uint32_t tid;
	uint32_t flags;
};

/* At exit, per pthread lock taken: acquisitions (uncontended: taken
 * without waiting), the time it was held, and the waits the mode dropped
 * (lost: the ring full or busy) in the process's last record of this kind. */
struct kh_rec_lock_hold {
	struct kh_rec_header h;
	uint64_t addr;
	uint64_t acquisitions, uncontended;
	uint64_t hold_ns, hold_max_ns;
	uint64_t lost;
	uint32_t kind;
	uint32_t pad;
};

/* The memcheck mode (agent_memcheck.c). Its settings come in the
 * environment; a heap error is one KH_REC_MEM_ERROR. */
#define KH_ENV_MC_QUARANTINE  "KILN_MEMCHECK_QUARANTINE"  /* bytes of freed blocks kept inaccessible */
#define KH_ENV_MC_KEEP_GOING  "KILN_MEMCHECK_KEEP_GOING"  /* "1": go on after an error where it is safe */
#define KH_ENV_MC_EXITCODE    "KILN_MEMCHECK_EXITCODE"    /* the status the process stops with at an error */
#define KH_ENV_MC_SAMPLE      "KILN_MEMCHECK_SAMPLE"      /* guard about one allocation in N (0, 1: all) */
#define KH_ENV_MC_UNDERFLOW   "KILN_MEMCHECK_UNDERFLOW"   /* "1": blocks start after their guard page */
#define KH_ENV_MC_MPROTECT    "KILN_MEMCHECK_MPROTECT"    /* "1": mprotect, no guard markers (for tests) */
#define KH_ENV_MC_MAX_GUARDED "KILN_MEMCHECK_MAX_GUARDED" /* live guarded blocks at most (0: default) */

enum kh_mem_error_kind {
	KH_MEM_OVERFLOW = 1,       /* an access to the inaccessible page after a live block */
	KH_MEM_USE_AFTER_FREE = 2, /* an access to a freed block (its pages stay inaccessible until reused) */
	KH_MEM_DOUBLE_FREE = 3,    /* free of a block already freed */
	KH_MEM_INVALID_FREE = 4,   /* free of a pointer malloc never returned (or the middle of a block) */
	KH_MEM_REALLOC_FREED = 5,  /* realloc of a freed block */
	KH_MEM_SLACK_DAMAGE = 6, /* at free: the bytes around the block, between it and its pages' ends, were written */
	KH_MEM_MISMATCHED_FREE = 7, /* freed by another family than it was allocated by (new + free, new[] + delete) */
};

#define KH_MEM_READ     1u  /* kh_rec_mem_error.flags: the access read */
#define KH_MEM_WRITE    2u  /* ... wrote */
#define KH_MEM_STOPPED  4u  /* the process stops after this record */
#define KH_MEM_IN_BLOCK 8u  /* block and block_size name a block (else only addr is known) */
#define KH_MEM_ON_STACK 16u /* an invalid free of an address on a thread's stack */
#define KH_MEM_STATIC   32u /* ... in a module's static data */
#define KH_MEM_FRAMES   16  /* frames kept per stack */
/* The allocator families, for KH_MEM_MISMATCHED_FREE: the block's in
 * flags bits 8-9, the free's in bits 10-11. */
enum kh_mem_family {
	KH_MEM_FAMILY_MALLOC = 0,    /* malloc, calloc, realloc, memalign...; free */
	KH_MEM_FAMILY_NEW = 1,       /* operator new; delete */
	KH_MEM_FAMILY_NEW_ARRAY = 2, /* operator new[]; delete[] */
};
#define KH_MEM_ALLOC_FAMILY(flags) (((flags) >> 8) & 3u)
#define KH_MEM_FREE_FAMILY(flags)  (((flags) >> 10) & 3u)

/* frames: n_access (innermost first: the faulting pc, then return
 * addresses minus one), then n_alloc, then n_free (the block's stacks). */
struct kh_rec_mem_error {
	struct kh_rec_header h;
	uint64_t time;
	uint64_t addr;       /* the address accessed, freed, or the first damaged byte */
	uint64_t block;      /* the block it lies in or near (KH_MEM_IN_BLOCK) */
	uint64_t block_size; /* as the program asked for it */
	uint32_t kind;       /* enum kh_mem_error_kind */
	uint32_t flags;      /* KH_MEM_* */
	uint32_t tid, alloc_tid, free_tid;
	uint16_t n_access, n_alloc, n_free;
	/* uint64_t frames[n_access + n_alloc + n_free] */
};

struct kh_rec_mem_stats {
	struct kh_rec_header h;
	uint64_t guarded;    /* blocks served with a guard page */
	uint64_t unguarded;  /* blocks served by the real allocator (no room, no mapping left) */
	uint64_t evicted;    /* freed blocks that left the quarantine */
	uint64_t quarantine; /* its limit in bytes */
	/* of unguarded: why they were not guarded */
	uint64_t over_limit; /* max_guarded blocks were live */
	uint64_t no_room;    /* no address space, span or mapping left */
	uint64_t max_guarded;
	uint32_t sample;  /* 1 in about this many guarded (0, 1: all) */
	uint32_t markers; /* 1: guard markers (no mapping per block), 0: mprotect */
	/* frees and reallocs of blocks the real allocator served that the
	 * mode still looked at (none of malloc's with --sample: they go
	 * straight to it) */
	uint64_t foreign_frees;
};

/* The memcheck mode's live blocks at exit, one record each, sent before
 * KH_REC_SCAN_REQUEST: kiln builds the leak scan's live image from them
 * (the heap mode's handshake) and names the leaks' allocation stacks. */
struct kh_rec_mem_live {
	struct kh_rec_header h;
	uint64_t addr, size; /* the block, as the program asked for it */
	uint32_t tid;        /* the thread that allocated it */
	uint16_t n_frames;   /* its allocation stack, innermost first */
	uint16_t pad;
	/* uint64_t frames[n_frames] */
};

/* The heap's way into the agent (agent_rustshim.c), once per process
 * image at start. path: enum kh_alloc_path; global: enum kh_global_alloc;
 * reason: the errno of a refusal (KH_PATH_SHIM_REFUSED); shim: the shim
 * functions diverted; methods: the GlobalAlloc methods diverted (a method
 * inlined into its callers has no function to divert), of candidates
 * found in the symbol table; start_rss_kb: the
 * peak RSS when the agent started, for kiln's check that the heap's
 * growth was seen. */
enum kh_alloc_path {
	KH_PATH_LIBC = 0,         /* not Rust, or Rust on System: the malloc family */
	KH_PATH_SHIM = 1,         /* the Rust allocator shim is diverted */
	KH_PATH_SHIM_MISSING = 2, /* a Rust program without a symbol table: its shim cannot be found */
	KH_PATH_SHIM_REFUSED = 3, /* the shim was found, its code is not a shape the agent knows */
};
enum kh_global_alloc {
	KH_GA_NONE = 0, /* not Rust */
	KH_GA_SYSTEM = 1,
	KH_GA_JEMALLOC = 2,
	KH_GA_MIMALLOC = 3,
	KH_GA_CUSTOM = 4,
	KH_GA_UNKNOWN = 5, /* Rust, no symbols to tell */
};
struct kh_rec_allocator {
	struct kh_rec_header h;
	uint32_t path;
	uint32_t global;
	uint32_t shim;
	uint32_t methods;
	int32_t reason;
	uint32_t candidates; /* GlobalAlloc methods in the symbol table */
	uint64_t start_rss_kb;
};

struct kh_rec_peers {
	struct kh_rec_header h;
	uint32_t tid; /* the exiting thread: not a peer */
	uint32_t cap; /* the most struct kh_peer the agent takes */
};

#define KH_PEER_REGS     32 /* register words per peer (x86-64 uses 27) */
#define KH_PEER_HAS_REGS 1u /* kh_peer.flags: regs and sp are the thread's */
#define KH_PEERS_NO_REGS 1u /* peer_flags: a thread could not be stopped */

/* A range of another thread's stack to scan, and its registers when known. */
struct kh_peer {
	uint32_t tid;
	uint32_t flags;
	uint64_t lo, hi; /* [lo, hi): from below its stack pointer to its mapping's end */
	uint64_t regs[KH_PEER_REGS];
};

/* The live image of the scan handshake. */
struct kh_live_header {
	uint64_t magic;
	uint64_t count;   /* live blocks */
	uint64_t regions; /* struct kh_live_region after the class bytes */
	uint64_t pad;
};

struct kh_live_block {
	uint64_t addr;
	uint64_t size;
};

enum kh_region_kind {
	KH_REGION_ANON = 1, /* anonymous memory */
	KH_REGION_FILE = 2, /* a file mapped privately and writable */
};

#define KH_REGION_STACK 1u /* kh_live_region.flags: a thread's stack, scanned from its stack pointer instead */

/* A mapping to scan as a root, [lo, hi). kiln fills lo, hi and kind; the
 * agent fills scanned (bytes it read) and flags. */
struct kh_live_region {
	uint64_t lo, hi;
	uint64_t scanned;
	uint32_t kind;
	uint32_t flags;
};

/* Where the regions start in a live image of `count` blocks. */
static inline uint64_t kh_live_regions_at(uint64_t count)
{
	uint64_t at = sizeof(struct kh_live_header) + count * (sizeof(struct kh_live_block) + 1);
	return (at + 7) & ~7ull;
}

/* Class bytes written by the agent, memcheck's leak kinds. */
enum kh_leak_class {
	KH_LEAK_UNKNOWN = 0, /* not scanned */
	KH_LEAK_REACHABLE = 1,
	KH_LEAK_POSSIBLE = 2,
	KH_LEAK_INDIRECT = 3,
	KH_LEAK_DEFINITE = 4,
};

#endif
