/* lock.c - futex waits into locks: identity, kind, call site, statistics. */
#include "analysis/lock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/hashmap.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

void lock_input_init(struct lock_input *in)
{
	memset(in, 0, sizeof(*in));
	keymap_init(&in->wakes);
}

void lock_input_release(struct lock_input *in)
{
	vec_free(&in->calls);
	vec_free(&in->waits);
	vec_free(&in->holds);
	vec_free(&in->wake_v);
	keymap_release(&in->wakes);
}

void lock_input_syscall(struct lock_input *in, const struct lock_syscall *c)
{
	vec_push(&in->calls, *c);
}

/* A futex word: its process and address. */
struct word_key {
	uint32_t pid;
	uint64_t uaddr;
};

static uint64_t word_hash(uint32_t pid, uint64_t uaddr)
{
	return hash_mix(hash_u64(pid), uaddr);
}

static bool wake_eq(const void *ctx, const void *key, uint32_t id)
{
	const struct lock_wake_word *w = &((const struct lock_input *)ctx)->wake_v.v[id];
	const struct word_key *k = key;
	return w->pid == k->pid && w->uaddr == k->uaddr;
}

void lock_input_wake(struct lock_input *in, uint32_t pid, uint32_t tid, uint64_t uaddr, uint64_t n, bool several)
{
	struct word_key k = {pid, uaddr};
	uint64_t h = word_hash(pid, uaddr);
	uint32_t id = keymap_find(&in->wakes, h, wake_eq, in, &k);
	if (id != KEYMAP_NONE) {
		struct lock_wake_word *w = &in->wake_v.v[id];
		w->wakes += n;
		if (w->first_tid != tid || several)
			w->other_threads = true;
		return;
	}
	struct lock_wake_word *w = vec_grow(&in->wake_v);
	w->uaddr = uaddr;
	w->pid = pid;
	w->first_tid = tid;
	w->wakes = n;
	w->other_threads = several;
	keymap_add(&in->wakes, h, (uint32_t)(in->wake_v.n - 1));
}

static const struct lock_wake_word *find_wake(const struct lock_input *in, uint32_t pid, uint64_t uaddr)
{
	struct word_key k = {pid, uaddr};
	uint32_t id = keymap_find(&in->wakes, word_hash(pid, uaddr), wake_eq, in, &k);
	return id == KEYMAP_NONE ? NULL : &in->wake_v.v[id];
}

static int by_tid_time(const void *a, const void *b)
{
	const struct lock_syscall *x = a, *y = b;
	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	/* an exit stamped with its entry's time still follows it */
	return (int)x->exit - (int)y->exit;
}

void lock_input_pair(struct lock_input *in)
{
	if (in->calls.n)
		qsort(in->calls.v, in->calls.n, sizeof(*in->calls.v), by_tid_time);
	for (size_t i = 0; i < in->calls.n; i++) {
		const struct lock_syscall *e = &in->calls.v[i];
		if (e->exit) {
			in->unpaired++;
			continue;
		}
		if (e->wakes)
			lock_input_wake(in, e->pid, e->tid, e->uaddr, 1, false);
		const struct lock_syscall *x = i + 1 < in->calls.n ? &in->calls.v[i + 1] : NULL;
		if (!x || x->tid != e->tid || !x->exit) {
			in->unpaired++; /* its exit was lost, or came after the end */
			continue;
		}
		i++;
		if (!e->waits)
			continue;
		struct lock_wait *w = vec_grow(&in->waits);
		w->start = e->time;
		w->ns = x->time - e->time;
		w->uaddr = e->uaddr;
		w->tid = e->tid;
		w->pid = e->pid;
		w->stack = e->stack;
	}
	vec_free(&in->calls);
}

/* ---- what the frames say ---- */

const char *lock_kind_name(enum lock_kind k)
{
	static const char *const names[] = {"futex",  "mutex",   "rwlock", "semaphore",
	                                    "parked", "condvar", "join",   "channel"};
	return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "futex";
}

bool lock_kind_is_signal(enum lock_kind k)
{
	return k == LOCK_KIND_CONDVAR || k == LOCK_KIND_JOIN || k == LOCK_KIND_CHANNEL;
}

/* The kind one frame's function names, or -1. */
static int frame_kind(const char *fn)
{
	static const struct {
		const char *pattern;
		enum lock_kind kind;
	} rules[] = {
	    {"Condvar", LOCK_KIND_CONDVAR},         {"pthread_cond_", LOCK_KIND_CONDVAR},
	    {"JoinInner", LOCK_KIND_JOIN},          {"pthread_join", LOCK_KIND_JOIN},
	    {"pthread_clockjoin", LOCK_KIND_JOIN},  {"mpmc::", LOCK_KIND_CHANNEL},
	    {"mpsc::", LOCK_KIND_CHANNEL},          {"RwLock", LOCK_KIND_RWLOCK},
	    {"rwlock", LOCK_KIND_RWLOCK},           {"sem_wait", LOCK_KIND_SEMAPHORE},
	    {"sem_timedwait", LOCK_KIND_SEMAPHORE}, {"sem_clockwait", LOCK_KIND_SEMAPHORE},
	    {"Semaphore", LOCK_KIND_SEMAPHORE},     {"Mutex", LOCK_KIND_MUTEX},
	    {"mutex_lock", LOCK_KIND_MUTEX},        {"mutex_timedlock", LOCK_KIND_MUTEX},
	    {"mutex_clocklock", LOCK_KIND_MUTEX},   {"__lll_lock_wait", LOCK_KIND_MUTEX},
	};
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (strstr(fn, rules[i].pattern))
			return (int)rules[i].kind;
	return -1;
}

/* Whether a frame is lock machinery rather than the program's call site. */
static bool frame_internal(const char *fn, const char *module)
{
	static const char *const modules[] = {"libc.so", "libpthread", "ld-linux", "ld-musl", "libstdc++", "[kernel"};
	static const char *const prefixes[] = {"std::", "core::",   "alloc::", "parking_lot", "lock_api", "syscall",
	                                       "__",    "pthread_", "sem_",    "futex",       "[",        "sys_"};
	static const char *const leaves[] = {
	    "lock",         "lock_contended", "lock_slow",       "try_lock", "read",
	    "write",        "read_contended", "write_contended", "wait",     "wait_while",
	    "wait_timeout", "park",           "unpark",          "acquire",  "spin"};
	for (size_t i = 0; i < sizeof(modules) / sizeof(modules[0]); i++)
		if (module && !strncmp(module, modules[i], strlen(modules[i])))
			return true;
	while (*fn == '<' || *fn == '&')
		fn++;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (!strncmp(fn, prefixes[i], strlen(prefixes[i])))
			return true;
	/* the last path component, generics and all: "Spin<T>::lock" */
	const char *last = fn, *s;
	for (s = fn; *s; s++)
		if (s[0] == ':' && s[1] == ':')
			last = s + 2;
	size_t n = strcspn(last, "<(");
	for (size_t i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++)
		if (strlen(leaves[i]) == n && !strncmp(last, leaves[i], n))
			return true;
	return false;
}

/* Reads a waiting stack: its kind and call site ("fn (file:line)"). */
static void read_stack(const struct profile *p, uint32_t stack, enum lock_kind *kind, struct strbuf *site)
{
	struct profile_frame *f = NULL;
	size_t n = profile_stack_frames(p, stack, &f);
	*kind = LOCK_KIND_FUTEX;
	bool kind_set = false;
	const struct profile_frame *pick = NULL;
	for (size_t i = n; i-- > 0;) { /* leaf first */
		const char *fn = profile_str(p, f[i].function);
		const char *mod = profile_str(p, f[i].module);
		if (!kind_set) {
			int k = frame_kind(fn);
			if (k >= 0) {
				*kind = (enum lock_kind)k;
				kind_set = true;
			}
		}
		if (!pick && !frame_internal(fn, mod))
			pick = &f[i];
	}
	if (!pick && n)
		pick = &f[n - 1];
	if (pick) {
		const char *file = profile_str(p, pick->file), *base = strrchr(file, '/');
		strbuf_addstr(site, profile_str(p, pick->function));
		if (*file && pick->line)
			strbuf_addf(site, " (%s:%u)", base ? base + 1 : file, pick->line);
	} else {
		strbuf_addstr(site, "[no stack]");
	}
	free(f);
}

/* ---- grouping waits into locks ---- */

struct word {
	uint64_t uaddr;
	uint32_t pid, first_tid;
	bool many_waiters;
	size_t first_wait;
};

static int by_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

struct ranked {
	struct lock_stat l;
	uint32_t old;
};

static int by_rank(const void *a, const void *b)
{
	const struct lock_stat *x = &((const struct ranked *)a)->l, *y = &((const struct ranked *)b)->l;
	bool sx = lock_kind_is_signal(x->kind), sy = lock_kind_is_signal(y->kind);
	if (sx != sy)
		return sx ? 1 : -1;
	if (x->total_ns != y->total_ns)
		return x->total_ns > y->total_ns ? -1 : 1;
	return strcmp(x->name, y->name);
}

static bool word_eq(const void *ctx, const void *key, uint32_t id)
{
	const struct word *w = &((const struct word *)ctx)[id];
	const struct word_key *k = key;
	return w->pid == k->pid && w->uaddr == k->uaddr;
}

static bool name_eq(const void *ctx, const void *key, uint32_t id)
{
	return !strcmp(((const struct lock_report *)ctx)->locks.v[id].name, key);
}

/* The lock a name keys, made when new. */
static size_t lock_for(struct lock_report *r, struct keymap *by_name, const char *key, bool *fresh)
{
	uint64_t h = hash_bytes(key, strlen(key));
	uint32_t id = keymap_find(by_name, h, name_eq, r, key);
	*fresh = id == KEYMAP_NONE;
	if (!*fresh)
		return id;
	struct lock_stat *l = vec_grow(&r->locks);
	l->name = xstrdup(key);
	keymap_add(by_name, h, (uint32_t)(r->locks.n - 1));
	return r->locks.n - 1;
}

void lock_report_build(struct lock_report *r, const struct lock_input *in, const struct profile *p, uint64_t end,
                       lock_data_name_fn data_name, void *ctx)
{
	memset(r, 0, sizeof(*r));
	/* the words, with their waiters */
	VEC(struct word) words = {0};
	struct keymap word_of; /* (pid, uaddr) -> index into words */
	keymap_init(&word_of);
	VEC(uint32_t) wait_word = {0};
	vec_reserve(&wait_word, in->waits.n);
	for (size_t i = 0; i < in->waits.n; i++) {
		const struct lock_wait *w = &in->waits.v[i];
		struct word_key k = {w->pid, w->uaddr};
		uint64_t h = word_hash(w->pid, w->uaddr);
		uint32_t wi = keymap_find(&word_of, h, word_eq, words.v, &k);
		if (wi == KEYMAP_NONE) {
			struct word *nw = vec_grow(&words);
			nw->uaddr = w->uaddr;
			nw->pid = w->pid;
			nw->first_tid = w->tid;
			nw->first_wait = i;
			wi = (uint32_t)(words.n - 1);
			keymap_add(&word_of, h, wi);
		}
		if (words.v[wi].first_tid != w->tid)
			words.v[wi].many_waiters = true;
		wait_word.v[wait_word.n++] = wi;
	}

	/* each word's lock: named by its static, its call site, or both */
	struct keymap by_name;
	keymap_init(&by_name);
	VEC(uint32_t) word_lock = {0};
	vec_reserve(&word_lock, words.n);
	struct strbuf site = STRBUF_INIT, key = STRBUF_INIT;
	for (size_t i = 0; i < words.n; i++) {
		const struct word *wd = &words.v[i];
		const struct lock_wait *first = &in->waits.v[wd->first_wait];
		enum lock_kind kind;
		strbuf_reset(&site);
		strbuf_reset(&key);
		read_stack(p, first->stack, &kind, &site);
		if (first->kind != LOCK_KIND_FUTEX)
			kind = (enum lock_kind)first->kind;
		const struct lock_wake_word *wk = find_wake(in, wd->pid, wd->uaddr);
		char sym[256];
		bool named = data_name && data_name(ctx, wd->pid, wd->uaddr, sym, sizeof(sym));
		bool parked = !named && !wd->many_waiters && !lock_kind_is_signal(kind) && wk &&
		              (wk->first_tid != wd->first_tid || wk->other_threads);
		if (named)
			strbuf_addstr(&key, sym);
		else if (parked)
			strbuf_addf(&key, "%s at %s", kind == LOCK_KIND_FUTEX ? "parked" : lock_kind_name(kind),
			            strbuf_str(&site));
		else
			strbuf_addf(&key, "%s 0x%llx at %s", lock_kind_name(kind), (unsigned long long)wd->uaddr,
			            strbuf_str(&site));
		bool fresh;
		size_t li = lock_for(r, &by_name, strbuf_str(&key), &fresh);
		struct lock_stat *l = &r->locks.v[li];
		if (fresh) {
			l->site = xstrdup(strbuf_str(&site));
			l->kind = parked && kind == LOCK_KIND_FUTEX ? LOCK_KIND_PARKED : kind;
			l->uaddr = wd->uaddr;
			l->pid = wd->pid;
			l->stack = first->stack;
		} else {
			l->uaddr = 0; /* several words */
		}
		if (wk)
			l->wakes += wk->wakes;
		word_lock.v[word_lock.n++] = (uint32_t)li;
	}

	/* the statistics */
	VEC(VEC(uint64_t)) per_lock = {0};
	vec_reserve(&per_lock, r->locks.n);
	if (r->locks.n)
		memset(per_lock.v, 0, r->locks.n * sizeof(*per_lock.v));
	per_lock.n = r->locks.n;
	vec_reserve(&r->of_wait, in->waits.n);
	struct hashmap threads_seen;
	hashmap_init(&threads_seen);
	for (size_t i = 0; i < in->waits.n; i++) {
		const struct lock_wait *w = &in->waits.v[i];
		uint32_t li = word_lock.v[wait_word.v[i]];
		struct lock_stat *l = &r->locks.v[li];
		r->of_wait.v[r->of_wait.n++] = li;
		l->waits++;
		l->total_ns += w->ns;
		if (w->ns > l->max_ns)
			l->max_ns = w->ns;
		vec_push(&per_lock.v[li], w->ns);
		uint64_t tk = (uint64_t)li << 32 | w->tid; /* exact: a lock and a thread */
		if (!hashmap_get(&threads_seen, tk, NULL)) {
			hashmap_put(&threads_seen, tk, 1);
			l->threads++;
		}
		r->waits++;
		if (lock_kind_is_signal(l->kind))
			r->signal_ns += w->ns;
		else
			r->contention_ns += w->ns;
	}
	for (size_t i = 0; i < p->threads.n; i++) {
		const struct profile_thread *t = &p->threads.v[i];
		uint64_t to = t->end ? t->end : end;
		if (t->start && to > t->start)
			r->thread_ns += to - t->start;
	}
	for (size_t i = 0; i < r->locks.n; i++) {
		struct lock_stat *l = &r->locks.v[i];
		if (per_lock.v[i].n)
			qsort(per_lock.v[i].v, per_lock.v[i].n, sizeof(uint64_t), by_u64);
		if (l->waits) {
			size_t k = (size_t)((double)l->waits * 0.99 + 0.999999);
			l->p99_ns = per_lock.v[i].v[(k ? k : 1) - 1];
			l->mean_ns = l->total_ns / l->waits;
		}
		l->share = r->thread_ns ? (double)l->total_ns / (double)r->thread_ns : 0;
		vec_free(&per_lock.v[i]);
	}
	/* the agent's hold times, onto the locks of the same words */
	for (size_t i = 0; i < in->holds.n; i++) {
		const struct lock_hold *h = &in->holds.v[i];
		struct word_key k = {h->pid, h->uaddr};
		uint32_t wi = keymap_find(&word_of, word_hash(h->pid, h->uaddr), word_eq, words.v, &k);
		if (wi == KEYMAP_NONE)
			continue; /* never waited on: no contention to show */
		struct lock_stat *l = &r->locks.v[word_lock.v[wi]];
		l->has_hold = true;
		l->acquisitions += h->acquisitions;
		l->uncontended += h->uncontended;
		l->hold_ns += h->hold_ns;
		if (h->hold_max_ns > l->hold_max_ns)
			l->hold_max_ns = h->hold_max_ns;
		l->hold_mean_ns = l->acquisitions ? l->hold_ns / l->acquisitions : 0;
	}
	/* rank, keeping of_wait pointing at the same locks */
	struct ranked *rk = xcalloc(r->locks.n ? r->locks.n : 1, sizeof(*rk));
	for (size_t i = 0; i < r->locks.n; i++) {
		rk[i].l = r->locks.v[i];
		rk[i].old = (uint32_t)i;
	}
	if (r->locks.n)
		qsort(rk, r->locks.n, sizeof(*rk), by_rank);
	uint32_t *new_of = xcalloc(r->locks.n ? r->locks.n : 1, sizeof(*new_of));
	for (size_t i = 0; i < r->locks.n; i++) {
		r->locks.v[i] = rk[i].l;
		new_of[rk[i].old] = (uint32_t)i;
	}
	for (size_t i = 0; i < r->of_wait.n; i++)
		r->of_wait.v[i] = new_of[r->of_wait.v[i]];
	free(new_of);
	free(rk);
	hashmap_release(&threads_seen);
	vec_free(&per_lock);
	strbuf_release(&site);
	strbuf_release(&key);
	keymap_release(&by_name);
	vec_free(&word_lock);
	vec_free(&wait_word);
	keymap_release(&word_of);
	vec_free(&words);
}

void lock_report_release(struct lock_report *r)
{
	for (size_t i = 0; i < r->locks.n; i++) {
		free(r->locks.v[i].name);
		free(r->locks.v[i].site);
	}
	vec_free(&r->locks);
	vec_free(&r->of_wait);
}

void lock_report_samples(const struct lock_report *r, const struct lock_input *in, struct profile *p, int count_vi,
                         int wait_vi, int signal_vi)
{
	for (size_t i = 0; i < in->waits.n && i < r->of_wait.n; i++) {
		const struct lock_wait *w = &in->waits.v[i];
		bool signal = lock_kind_is_signal(r->locks.v[r->of_wait.v[i]].kind);
		struct profile_sample s = {0};
		s.stack = w->stack;
		s.tid = w->tid;
		s.pid = w->pid;
		s.time = w->start;
		if (signal && signal_vi >= 0)
			s.values[signal_vi] = (int64_t)w->ns;
		else if (!signal && wait_vi >= 0)
			s.values[wait_vi] = (int64_t)w->ns;
		else
			continue;
		if (!signal && count_vi >= 0)
			s.values[count_vi] = 1;
		profile_add_sample(p, &s);
	}
}
