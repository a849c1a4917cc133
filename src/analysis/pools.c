/* pools.c - groups a profile's threads into pools and splits each
 * worker's time into busy, parked, blocked in tasks and runnable. */
#include "analysis/pools.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/offcpu_reason.h"
#include "util/hashmap.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

const char *const pools_builtin_park[] = {
    "^tokio::runtime::.*[Pp]ark",                      /* tokio's workers and blocking pool */
    "^tokio::runtime::.*::Inner::park",                /* (older tokio) */
    "^rayon_core::sleep::Sleep::sleep",                /* rayon workers out of work */
    "^rayon_core::registry::WorkerThread::wait_until", /* ... and waiting on a latch */
    "^crossbeam_channel::.*::wait",                    /* crossbeam-channel receivers */
    "^crossbeam_utils::sync::parker::",                /* crossbeam's parker */
    "^async_executor::.*run",                          /* smol / async-executor */
    "^futures_executor::.*park",                       /* futures' block_on */
    "^std::thread::park",                              /* a pool of the user's on thread::park */
    NULL,
};

void pools_init(struct pools *ps)
{
	memset(ps, 0, sizeof(*ps));
}

static void pool_release(struct pool *pl)
{
	free(pl->name);
	vec_free(&pl->workers);
	vec_free(&pl->stacks);
}

void pools_release(struct pools *ps)
{
	for (size_t i = 0; i < ps->v.n; i++)
		pool_release(&ps->v.v[i]);
	vec_free(&ps->v);
	for (size_t i = 0; i < ps->park.n; i++)
		regfree(&ps->park.v[i]);
	vec_free(&ps->park);
}

int pools_add_park(struct pools *ps, const char *regex)
{
	regex_t re;
	if (regcomp(&re, regex, REG_EXTENDED | REG_NOSUB))
		return -EINVAL;
	vec_push(&ps->park, re);
	return 0;
}

/* Whether a frame is the program's own: not the kernel's, nor std's,
 * core's, alloc's or the C library's. */
static bool own_frame(const struct profile *p, const struct profile_frame *f, uint32_t location)
{
	if (location < p->locations.n && p->locations.v[location].kind != PROFILE_LOC_USER)
		return false;
	const char *fn = profile_str(p, f->function);
	const char *mod = profile_str(p, f->module);
	static const char *const lib[] = {"std::", "core::", "alloc::", "<std::", "<core::", "<alloc::", "__", NULL};
	for (size_t i = 0; lib[i]; i++)
		if (!strncmp(fn, lib[i], strlen(lib[i])))
			return false;
	if (!strcmp(fn, "syscall") || !strcmp(fn, "start_thread") || !strcmp(fn, "clone3") ||
	    !strncmp(fn, "pthread_", 8))
		return false;
	if (!strncmp(mod, "libc.so", 7) || !strncmp(mod, "libc-", 5) || !strncmp(mod, "ld-linux", 8) ||
	    !strncmp(mod, "libpthread", 10))
		return false;
	return *fn != '\0';
}

/* The innermost own frame of a stack and the one it called. */
struct own_walk {
	const struct profile *p;
	uint32_t own, callee; /* function string ids, 0 when none */
	bool after_own;
};

static int walk_own(void *ctx, const struct profile_frame *f, uint32_t location)
{
	struct own_walk *w = ctx;
	if (own_frame(w->p, f, location)) {
		w->own = f->function;
		w->callee = 0;
		w->after_own = true;
	} else if (w->after_own) {
		w->callee = f->function;
		w->after_own = false;
	}
	return 0;
}

static void find_own(const struct profile *p, uint32_t stack, struct own_walk *w)
{
	memset(w, 0, sizeof(*w));
	w->p = p;
	if (stack)
		profile_walk_stack(p, stack, walk_own, w);
}

void pools_stack_label(const struct profile *p, uint32_t stack, char *buf, size_t size)
{
	struct own_walk w;
	find_own(p, stack, &w);
	if (w.own && w.callee)
		snprintf(buf, size, "%s \u2192 %s", profile_str(p, w.own), profile_str(p, w.callee));
	else if (w.own)
		snprintf(buf, size, "%s", profile_str(p, w.own));
	else
		snprintf(buf, size, "%s", stack ? "(library code only)" : "(no stack)");
}

static uint64_t key_of_walk(const struct own_walk *w, uint32_t stack)
{
	if (!w->own) /* nothing of the program's own: keep stacks apart */
		return (1ull << 63) | stack;
	return (uint64_t)w->own << 32 | w->callee;
}

uint64_t pools_stack_key(const struct profile *p, uint32_t stack)
{
	struct own_walk w;
	find_own(p, stack, &w);
	return key_of_walk(&w, stack);
}

struct park_walk {
	const struct pools *ps;
	const struct profile *p;
	bool match;
};

static int walk_park(void *ctx, const struct profile_frame *f, uint32_t location)
{
	(void)location;
	struct park_walk *w = ctx;
	const char *fn = profile_str(w->p, f->function);
	for (size_t i = 0; i < w->ps->park.n; i++)
		if (!regexec(&w->ps->park.v[i], fn, 0, NULL, 0)) {
			w->match = true;
			return 1;
		}
	return 0;
}

/* The code a thread runs: the outermost own frame of a stack that starts
 * where threads start (a stack cut short says nothing). */
struct entry_walk {
	const struct profile *p;
	bool first;
	uint32_t entry;
};

static int walk_entry(void *ctx, const struct profile_frame *f, uint32_t location)
{
	struct entry_walk *w = ctx;
	if (w->first) {
		const char *fn = profile_str(w->p, f->function);
		w->first = false;
		return strcmp(fn, "clone3") && strcmp(fn, "clone") && strcmp(fn, "__clone3") && strcmp(fn, "__clone") &&
		       strcmp(fn, "start_thread"); /* not a thread's start: stop */
	}
	if (!own_frame(w->p, f, location))
		return 0;
	w->entry = f->function;
	return 1;
}

/* The entry of stack, through memo (stack -> entry). */
static uint32_t entry_of_stack(const struct profile *p, uint32_t stack, struct hashmap *memo)
{
	uint64_t e;
	if (hashmap_get(memo, stack, &e))
		return (uint32_t)e;
	struct entry_walk ew = {p, true, 0};
	if (stack)
		profile_walk_stack(p, stack, walk_entry, &ew);
	hashmap_put(memo, stack, ew.entry);
	return ew.entry;
}

/* What the pools ask of an interval's stack. Each answer walks the whole
 * stack, and a run of 30,000 switches has a few dozen stacks: they are
 * told once per stack, all at once. */
struct stack_answer {
	bool parks;   /* it has a park frame */
	bool condvar; /* its reason is OFFCPU_REASON_CONDVAR */
	uint32_t own; /* its innermost own function (own_walk) */
	uint64_t key; /* pools_stack_key() */
};

struct stack_answers {
	struct hashmap at; /* stack -> index in v */
	VEC(struct stack_answer) v;
};

static const struct stack_answer *answer_of(const struct pools *ps, const struct profile *p, uint32_t stack,
                                            struct stack_answers *ans)
{
	uint64_t i;
	if (hashmap_get(&ans->at, stack, &i))
		return &ans->v.v[i];
	struct park_walk pw = {ps, p, false};
	if (stack)
		profile_walk_stack(p, stack, walk_park, &pw);
	struct own_walk ow;
	find_own(p, stack, &ow);
	struct stack_answer a = {pw.match, offcpu_reason_of(p, stack) == OFFCPU_REASON_CONDVAR, ow.own,
	                         key_of_walk(&ow, stack)};
	vec_push(&ans->v, a);
	hashmap_put(&ans->at, stack, ans->v.n - 1);
	return &ans->v.v[ans->v.n - 1];
}

/* A thread's pool name: its name without a trailing number and the
 * separators before it. */
static size_t pool_key(const char *name)
{
	size_t n = strlen(name);
	while (n && isdigit((unsigned char)name[n - 1]))
		n--;
	while (n && strchr("-_#. ", name[n - 1]))
		n--;
	return n;
}

struct site_count {
	uint32_t site;
	uint64_t workers; /* bit per worker (the first 64) */
};

static int cmp_stack(const void *a, const void *b)
{
	const struct pool_stack *x = a, *y = b;
	return x->ns > y->ns ? -1 : x->ns < y->ns;
}

static int cmp_pool(const void *a, const void *b)
{
	const struct pool *x = a, *y = b;
	return x->blocked > y->blocked ? -1 : x->blocked < y->blocked;
}

/* The wait site most of the pool's workers wait for work at. */
static void find_park_site(struct pool *pl, const struct pools *ps, const struct profile *p,
                           const struct offcpu_values *ov, const struct hashmap *tid_worker, struct stack_answers *ans)
{
	VEC(struct site_count) sites = {0};
	for (size_t i = 0; i < p->samples.n; i++) {
		const struct profile_sample *s = &p->samples.v[i];
		uint64_t w;
		if (s->values[ov->offcpu] <= 0 || !hashmap_get(tid_worker, s->tid, &w))
			continue;
		const struct stack_answer *a = answer_of(ps, p, s->stack, ans);
		uint32_t own = a->own;
		if (!a->condvar || !own)
			continue;
		size_t k = 0;
		while (k < sites.n && sites.v[k].site != own)
			k++;
		if (k == sites.n)
			vec_push(&sites, ((struct site_count){own, 0}));
		if (w < 64)
			sites.v[k].workers |= 1ull << w;
	}
	int best = 0;
	size_t need = (pl->workers.n + 1) / 2 < 2 ? 2 : (pl->workers.n + 1) / 2;
	for (size_t k = 0; k < sites.n; k++) {
		int c = __builtin_popcountll(sites.v[k].workers);
		if ((size_t)c >= need && c > best) {
			best = c;
			pl->park_site = sites.v[k].site;
		}
	}
	vec_free(&sites);
}

/* Each thread's own code (tid -> samples << 32 | entry): the entry most
 * of its stacks show, none when no stack of it starts where threads do. */
static void find_entries(const struct profile *p, struct hashmap *entry_of)
{
	struct hashmap counts, memo; /* tid << 32 | entry -> samples; stack -> entry */
	hashmap_init(&counts);
	hashmap_init(&memo);
	for (size_t i = 0; i < p->samples.n; i++) {
		const struct profile_sample *s = &p->samples.v[i];
		if (s->tid == s->pid)
			continue; /* a main thread is no worker */
		uint32_t e = entry_of_stack(p, s->stack, &memo);
		if (!e)
			continue;
		uint64_t k = (uint64_t)s->tid << 32 | e, c = 0;
		hashmap_get(&counts, k, &c);
		hashmap_put(&counts, k, c + 1);
	}
	for (size_t i = 0; i < counts.cap; i++) {
		const struct hashmap_slot *sl = &counts.slots[i];
		if (sl->key == UINT64_MAX)
			continue;
		uint64_t n = sl->val < UINT32_MAX ? sl->val : UINT32_MAX, best = 0;
		uint64_t cand = n << 32 | (uint32_t)sl->key;
		hashmap_get(entry_of, sl->key >> 32, &best);
		if (cand > best)
			hashmap_put(entry_of, sl->key >> 32, cand);
	}
	hashmap_release(&counts);
	hashmap_release(&memo);
}

struct group_thread {
	size_t at;      /* index in the profile's threads */
	uint32_t entry; /* its own code, 0 when not told */
};

struct entry_count {
	uint32_t entry;
	size_t threads;
};

/* The threads that share one name (up to a number), in the recording
 * from t0 to t1. */
struct name_group {
	const char *name;
	size_t klen; /* the shared part of name */
	uint64_t t0, t1;
	VEC(struct group_thread) threads;
};

/* The pool of g's threads running entry (and those whose code is not told
 * when with_unknown), when there are two or more. */
static void add_pool(struct pools *ps, const struct profile *p, const struct name_group *g, uint32_t entry,
                     bool with_unknown, bool named_by_entry)
{
	struct pool pl = {0};
	for (size_t k = 0; k < g->threads.n; k++) {
		const struct group_thread *gt = &g->threads.v[k];
		if (gt->entry != entry && !(with_unknown && !gt->entry))
			continue;
		const struct profile_thread *t = &p->threads.v[gt->at];
		uint64_t a = t->start > g->t0 ? t->start : g->t0, b = t->end && t->end < g->t1 ? t->end : g->t1;
		struct pool_worker pw = {.tid = t->tid, .name = t->name, .span = b > a ? b - a : 0};
		vec_push(&pl.workers, pw);
	}
	if (pl.workers.n < 2) {
		pool_release(&pl);
		return;
	}
	if (named_by_entry) {
		struct strbuf sb = STRBUF_INIT;
		strbuf_addf(&sb, "%.*s (%s)", (int)g->klen, g->name, profile_str(p, entry));
		pl.name = strbuf_detach(&sb);
	} else {
		pl.name = xstrndup(g->name, g->klen);
	}
	vec_push(&ps->v, pl);
}

/* The pools of one name group: threads of one pool run the same code, so
 * a helper thread that only shares the program's name (an unnamed
 * thread's is the process's) is no worker of it. A thread whose code is
 * not told joins the largest. */
static void add_group_pools(struct pools *ps, const struct profile *p, const struct name_group *g)
{
	VEC(struct entry_count) entries = {0}; /* the entries told, first seen first */
	size_t unknown = 0;
	for (size_t k = 0; k < g->threads.n; k++) {
		uint32_t e = g->threads.v[k].entry;
		if (!e) {
			unknown++;
			continue;
		}
		size_t at = 0;
		while (at < entries.n && entries.v[at].entry != e)
			at++;
		if (at == entries.n)
			vec_push(&entries, ((struct entry_count){e, 0}));
		entries.v[at].threads++;
	}
	size_t largest = 0, pools = 0;
	for (size_t k = 1; k < entries.n; k++)
		if (entries.v[k].threads > entries.v[largest].threads)
			largest = k;
	for (size_t k = 0; k < entries.n; k++)
		pools += entries.v[k].threads + (k == largest ? unknown : 0) >= 2;
	for (size_t k = 0; k < entries.n; k++)
		add_pool(ps, p, g, entries.v[k].entry, k == largest, pools > 1);
	if (!entries.n) /* no thread's code told: the name alone */
		add_pool(ps, p, g, 0, true, false);
	vec_free(&entries);
}

static void split_pool(struct pool *pl, const struct pools *ps, const struct profile *p, const struct offcpu_values *ov,
                       struct stack_answers *ans)
{
	struct hashmap tid_worker, stack_at;
	hashmap_init(&tid_worker);
	hashmap_init(&stack_at);
	for (size_t w = 0; w < pl->workers.n; w++)
		hashmap_put(&tid_worker, pl->workers.v[w].tid, w);
	find_park_site(pl, ps, p, ov, &tid_worker, ans);
	for (size_t i = 0; i < p->samples.n; i++) {
		const struct profile_sample *s = &p->samples.v[i];
		uint64_t w;
		if (!hashmap_get(&tid_worker, s->tid, &w))
			continue;
		struct pool_worker *pw = &pl->workers.v[w];
		if (ov->runnable >= 0 && s->values[ov->runnable] > 0)
			pw->runnable += (uint64_t)s->values[ov->runnable];
		int64_t ns = s->values[ov->offcpu];
		if (ns <= 0)
			continue;
		const struct stack_answer *a = answer_of(ps, p, s->stack, ans);
		/* In the pool's get-work function a worker waits for work: on its
		 * condvar, or on the queue's lock while another worker (preempted
		 * on a busy machine) holds it. Neither is a task blocking. */
		if (a->parks || (pl->park_site && a->own == pl->park_site)) {
			pw->parked += (uint64_t)ns;
			continue;
		}
		pw->blocked += (uint64_t)ns;
		uint64_t at, key = a->key;
		if (!hashmap_get(&stack_at, key, &at)) {
			at = pl->stacks.n;
			vec_push(&pl->stacks, ((struct pool_stack){s->stack, 0, 0}));
			hashmap_put(&stack_at, key, at);
		}
		pl->stacks.v[at].ns += (uint64_t)ns;
		pl->stacks.v[at].count++;
	}
	for (size_t w = 0; w < pl->workers.n; w++) {
		struct pool_worker *pw = &pl->workers.v[w];
		uint64_t off = pw->parked + pw->blocked + pw->runnable;
		if (off > pw->span)
			pw->span = off; /* a thread older than the recording's start */
		pw->busy = pw->span - off;
		pl->span += pw->span;
		pl->busy += pw->busy;
		pl->parked += pw->parked;
		pl->blocked += pw->blocked;
		pl->runnable += pw->runnable;
		pw->blocking = pw->span && (double)pw->blocked >= POOLS_BLOCKED_SHARE * (double)pw->span;
		pl->blocking_workers += pw->blocking;
	}
	if (pl->stacks.n > 1) /* qsort of a NULL vector is undefined, even empty */
		qsort(pl->stacks.v, pl->stacks.n, sizeof(*pl->stacks.v), cmp_stack);
	hashmap_release(&tid_worker);
	hashmap_release(&stack_at);
}

int pools_build(struct pools *ps, const struct profile *p)
{
	struct offcpu_values ov;
	offcpu_values_find(p, &ov);
	if (ov.offcpu < 0)
		return -ENOENT;
	if (!ps->builtin) {
		for (size_t i = 0; pools_builtin_park[i]; i++)
			pools_add_park(ps, pools_builtin_park[i]);
		ps->builtin = true;
	}
	uint64_t t0 = profile_get_meta_u64(p, "start_ns", 0), t1 = profile_get_meta_u64(p, "end_ns", 0);
	if (!t0 || !t1) {
		t0 = UINT64_MAX;
		t1 = 0;
		for (size_t i = 0; i < p->samples.n; i++) {
			const struct profile_sample *s = &p->samples.v[i];
			t0 = s->time < t0 ? s->time : t0;
			t1 = s->time > t1 ? s->time : t1;
		}
	}
	struct hashmap entry_of;
	hashmap_init(&entry_of);
	find_entries(p, &entry_of);
	/* group the threads by name, then by the code they run */
	bool *done = xcalloc(p->threads.n + 1, sizeof(bool));
	struct name_group g = {.t0 = t0, .t1 = t1};
	for (size_t i = 0; i < p->threads.n; i++) {
		if (done[i] || p->threads.v[i].tid == p->threads.v[i].pid)
			continue; /* a process's main thread is not a pool's worker */
		const char *name = profile_str(p, p->threads.v[i].name);
		size_t klen = pool_key(name);
		if (!klen)
			continue;
		g.name = name;
		g.klen = klen;
		g.threads.n = 0;
		for (size_t j = i; j < p->threads.n; j++) {
			const struct profile_thread *t = &p->threads.v[j];
			const char *nj = profile_str(p, t->name);
			if (done[j] || t->tid == t->pid || pool_key(nj) != klen || strncmp(nj, name, klen))
				continue;
			done[j] = true;
			uint64_t e = 0;
			hashmap_get(&entry_of, t->tid, &e);
			vec_push(&g.threads, ((struct group_thread){j, (uint32_t)e}));
		}
		add_group_pools(ps, p, &g);
	}
	free(done);
	vec_free(&g.threads);
	hashmap_release(&entry_of);
	struct stack_answers ans = {0};
	hashmap_init(&ans.at);
	for (size_t i = 0; i < ps->v.n; i++)
		split_pool(&ps->v.v[i], ps, p, &ov, &ans);
	hashmap_release(&ans.at);
	vec_free(&ans.v);
	if (ps->v.n > 1)
		qsort(ps->v.v, ps->v.n, sizeof(*ps->v.v), cmp_pool);
	return 0;
}
