/* offcpu_reason.c - names the reason of an off-CPU interval from its stack. */
#include "analysis/offcpu_reason.h"

#include <string.h>

#include "analysis/hotspots.h"

static const char *const reason_names[OFFCPU_NREASONS] = {
    "other", "sleep", "lock", "condvar", "futex", "read", "poll", "io", "runnable",
};

const char *offcpu_reason_name(enum offcpu_reason r)
{
	return r < OFFCPU_NREASONS ? reason_names[r] : "other";
}

/* What one frame's function says, strongest first: a page fault or I/O
 * wait anywhere wins, then the user-level kind of wait, then the syscall. */
enum {
	SAYS_IO = 1 << 0,
	SAYS_CONDVAR = 1 << 1,
	SAYS_LOCK = 1 << 2,
	SAYS_SLEEP = 1 << 3,
	SAYS_POLL = 1 << 4,
	SAYS_READ = 1 << 5,
	SAYS_FUTEX = 1 << 6,
};

static bool has(const char *s, const char *sub)
{
	return strstr(s, sub) != NULL;
}

/* The last path component of a name ("std::thread::sleep" -> "sleep"). */
static const char *last_part(const char *s)
{
	const char *p = strrchr(s, ':');
	return p ? p + 1 : s;
}

static unsigned frame_says(const char *fn)
{
	const char *last = last_part(fn);
	if (has(fn, "io_schedule") || has(fn, "folio_wait") || has(fn, "filemap_fault") || has(fn, "exc_page_fault") ||
	    has(fn, "handle_mm_fault") || has(fn, "wait_on_page") || has(fn, "blk_mq_") || has(fn, "submit_bio"))
		return SAYS_IO;
	if (has(fn, "Condvar") || has(fn, "pthread_cond_") || has(fn, "thread::park") || has(fn, "Parker") ||
	    (has(fn, "mpsc") && has(fn, "recv")) || has(fn, "mpmc"))
		return SAYS_CONDVAR;
	if (has(fn, "Mutex") || has(fn, "RwLock") || has(fn, "pthread_mutex_lock") || has(fn, "pthread_rwlock_") ||
	    has(fn, "__lll_lock_wait") || has(fn, "lock_contended"))
		return SAYS_LOCK;
	if (has(fn, "nanosleep") || !strcmp(fn, "std::thread::sleep") || !strcmp(last, "usleep") ||
	    !strcmp(fn, "sleep") || has(fn, "thread::functions::sleep"))
		return SAYS_SLEEP;
	if (has(fn, "epoll_wait") || !strcmp(fn, "ep_poll") || has(fn, "do_sys_poll") || !strcmp(last, "poll") ||
	    !strcmp(last, "ppoll") || !strcmp(fn, "select") || !strcmp(fn, "pselect6") || has(fn, "do_select"))
		return SAYS_POLL;
	if (!strcmp(last, "read") || !strcmp(fn, "__libc_read") || has(fn, "pipe_read") || has(fn, "recv") ||
	    has(fn, "ksys_read") || has(fn, "sock_read") || has(fn, "tcp_recvmsg") || !strcmp(last, "readv") ||
	    !strcmp(fn, "pread64") || !strcmp(last, "read_to_end") || has(fn, "accept"))
		return SAYS_READ;
	if (has(fn, "futex"))
		return SAYS_FUTEX;
	return 0;
}

static int collect(void *ctx, const struct profile_frame *f, uint32_t location)
{
	(void)location;
	const struct profile *p = ((const void **)ctx)[0];
	unsigned *says = ((void **)ctx)[1];
	*says |= frame_says(profile_str(p, f->function));
	return 0;
}

enum offcpu_reason offcpu_reason_of(const struct profile *p, uint32_t stack)
{
	unsigned says = 0;
	const void *ctx[2] = {p, &says};
	if (stack)
		profile_walk_stack(p, stack, collect, (void *)ctx);
	if (says & SAYS_IO)
		return OFFCPU_REASON_IO;
	if (says & SAYS_CONDVAR)
		return OFFCPU_REASON_CONDVAR;
	if (says & SAYS_LOCK)
		return OFFCPU_REASON_LOCK;
	if (says & SAYS_SLEEP)
		return OFFCPU_REASON_SLEEP;
	if (says & SAYS_POLL)
		return OFFCPU_REASON_POLL;
	if (says & SAYS_READ)
		return OFFCPU_REASON_READ;
	if (says & SAYS_FUTEX)
		return OFFCPU_REASON_FUTEX;
	return OFFCPU_REASON_OTHER;
}

enum offcpu_reason offcpu_reason_cached(const struct profile *p, uint32_t stack, struct hashmap *cache)
{
	uint64_t r;
	if (hashmap_get(cache, stack, &r))
		return (enum offcpu_reason)r;
	enum offcpu_reason got = offcpu_reason_of(p, stack);
	hashmap_put(cache, stack, got);
	return got;
}

/* hotspots_value_index() says -ENOENT for a value p lacks; -1 here. */
static int value_index(const struct profile *p, const char *name)
{
	int i = hotspots_value_index(p, name);
	return i < 0 ? -1 : i;
}

void offcpu_values_find(const struct profile *p, struct offcpu_values *v)
{
	v->offcpu = value_index(p, "offcpu");
	v->runnable = value_index(p, "runnable");
}
