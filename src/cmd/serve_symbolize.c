/* serve_symbolize.c - kiln serve's symbolizer thread (serve_symbolize.h):
 * batches of new locations go from the loop to the thread as small
 * profiles of their own, are named there with the shared caches, and come
 * back for the loop to copy the names into its profile. */
#include "cmd/serve_symbolize.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/serve_close.h"
#include "util/hashmap.h"
#include "util/strbuf.h"
#include "util/vec.h"
#include "util/xalloc.h"

struct serve_sym_batch {
	struct serve_sym_batch *next;
	uint64_t generation;
	struct profile *p;  /* the locations to name and their mappings: the thread's until done */
	VEC(uint32_t) locs; /* the loop's location id of each of p's locations */
	VEC(uint32_t) maps; /* the loop's mapping id of each of p's mappings */
};

static void batch_free(struct serve_sym_batch *b)
{
	profile_free(b->p);
	vec_free(&b->locs);
	vec_free(&b->maps);
	free(b);
}

static void list_append(struct serve_sym_batch **head, struct serve_sym_batch *b)
{
	while (*head)
		head = &(*head)->next;
	b->next = NULL;
	*head = b;
}

static void list_free(struct serve_sym_batch *b)
{
	while (b) {
		struct serve_sym_batch *next = b->next;
		batch_free(b);
		b = next;
	}
}

/* Whether the file at a mapping's path is the one that was mapped, as far
 * as can be told: not one unlinked since. */
static bool path_is_file(const char *path)
{
	static const char deleted[] = " (deleted)";
	size_t len = strlen(path);
	return path[0] == '/' && !(len >= sizeof(deleted) - 1 && !strcmp(path + len - (sizeof(deleted) - 1), deleted));
}

/* Names a batch. A mapping that came without a build-id gets the one its
 * file has now, so soon after it was mapped: should the binary be rebuilt
 * under its path later, the process that runs the old one is still named
 * by the old one's module (and the loop keeps the build-id). */
static void batch_name(struct serve_symbols *ss, struct serve_sym_batch *b)
{
	struct symbolizer_stats st;
	pthread_mutex_lock(&ss->sym_lock);
	for (size_t i = 0; i < b->p->mappings.n; i++) {
		struct profile_mapping *m = &b->p->mappings.v[i];
		char hex[128];
		if (!m->build_id && path_is_file(profile_str(b->p, m->path)) &&
		    symbolizer_file_build_id(ss->sym, profile_str(b->p, m->path), hex, sizeof(hex)) == 1)
			m->build_id = profile_intern(b->p, hex);
	}
	(void)symbols_resolve_profile_with(b->p, ss->sym, NULL);
	symbolizer_get_stats(ss->sym, &st);
	pthread_mutex_unlock(&ss->sym_lock);
	pthread_mutex_lock(&ss->lock);
	ss->stats = st;
	pthread_mutex_unlock(&ss->lock);
}

static void *symbols_main(void *arg)
{
	struct serve_symbols *ss = arg;
	pthread_mutex_lock(&ss->lock);
	for (;;) {
		while (!ss->todo && !ss->stop)
			pthread_cond_wait(&ss->wake, &ss->lock);
		if (ss->stop)
			break; /* what is left goes with the profile it was for */
		struct serve_sym_batch *b = ss->todo;
		ss->todo = b->next;
		pthread_mutex_unlock(&ss->lock);
		serve_gate_wait(&ss->gate); /* the first batch */
		batch_name(ss, b);
		pthread_mutex_lock(&ss->lock);
		list_append(&ss->done, b);
	}
	pthread_mutex_unlock(&ss->lock);
	return NULL;
}

int serve_symbols_start(struct serve_symbols *ss)
{
	pthread_mutex_init(&ss->lock, NULL);
	pthread_mutex_init(&ss->sym_lock, NULL);
	pthread_cond_init(&ss->wake, NULL);
	ss->inited = true;
	ss->sym = symbolizer_new();
	symbolizer_set_max_modules(ss->sym, SERVE_SYMBOL_MODULES);
	const char *gate = getenv("KILN_TEST_SERVE_SYMBOLIZE_GATE");
	ss->gate = gate && *gate ? gate : NULL;
	int rc = pthread_create(&ss->thread, NULL, symbols_main, ss);
	if (rc)
		return -rc;
	ss->started = true;
	return 0;
}

void serve_symbols_send(struct serve_symbols *ss, struct profile *p)
{
	if (ss->sent > p->locations.n)
		ss->sent = 0;
	struct serve_sym_batch *b = NULL;
	struct hashmap mids; /* the loop's mapping id -> the batch's */
	hashmap_init(&mids);
	for (size_t i = ss->sent; i < p->locations.n; i++) {
		const struct profile_location *l = &p->locations.v[i];
		if (l->nframes || l->kind == PROFILE_LOC_TRUNCATED)
			continue;
		if (!b) {
			b = xcalloc(1, sizeof(*b));
			b->p = profile_new();
			b->generation = ss->generation;
		}
		uint64_t bm = PROFILE_NO_MAPPING;
		if (l->mapping != PROFILE_NO_MAPPING && l->mapping < p->mappings.n &&
		    !hashmap_get(&mids, l->mapping, &bm)) {
			struct profile_mapping m = p->mappings.v[l->mapping];
			m.path = profile_intern(b->p, profile_str(p, m.path));
			m.build_id = m.build_id ? profile_intern(b->p, profile_str(p, m.build_id)) : 0;
			bm = profile_add_mapping(b->p, &m);
			vec_push(&b->maps, l->mapping);
			hashmap_put(&mids, l->mapping, bm);
		}
		/* the loop's locations are distinct, so the batch's ids follow locs */
		profile_location(b->p, (uint32_t)bm, l->address, (enum profile_location_kind)l->kind);
		vec_push(&b->locs, (uint32_t)i);
	}
	hashmap_release(&mids);
	ss->sent = p->locations.n;
	if (!b)
		return;
	ss->pending += b->locs.n;
	pthread_mutex_lock(&ss->lock);
	list_append(&ss->todo, b);
	pthread_cond_signal(&ss->wake);
	pthread_mutex_unlock(&ss->lock);
}

/* Adds to p's comma-separated list under key the entries from's has that
 * p's lacks. */
static void merge_list(struct profile *p, const struct profile *from, const char *key)
{
	const char *add = profile_get_meta(from, key);
	if (!add || !*add)
		return;
	const char *have = profile_get_meta(p, key);
	struct strbuf all = STRBUF_INIT, probe = STRBUF_INIT;
	strbuf_addf(&all, "%s", have ? have : "");
	size_t len0 = all.len;
	for (const char *s = add; *s;) {
		size_t n = strcspn(s, ",");
		strbuf_reset(&probe);
		strbuf_addf(&probe, ",%.*s,", (int)n, s);
		struct strbuf wrapped = STRBUF_INIT;
		strbuf_addf(&wrapped, ",%s,", strbuf_str(&all));
		if (n && !strstr(strbuf_str(&wrapped), strbuf_str(&probe)))
			strbuf_addf(&all, "%s%.*s", all.len ? "," : "", (int)n, s);
		strbuf_release(&wrapped);
		s += n + (s[n] == ',');
	}
	if (all.len != len0)
		profile_set_meta(p, key, strbuf_str(&all));
	strbuf_release(&all);
	strbuf_release(&probe);
}

static void batch_copy_back(struct profile *p, const struct serve_sym_batch *b)
{
	const struct profile *bp = b->p;
	for (size_t i = 0; i < b->locs.n && i < bp->locations.n; i++) {
		uint32_t loc = b->locs.v[i];
		if (loc < p->locations.n && !p->locations.v[loc].nframes && bp->locations.v[i].nframes)
			profile_copy_location_frames(p, loc, bp, (uint32_t)i);
	}
	for (size_t j = 0; j < b->maps.n && j < bp->mappings.n; j++) {
		struct profile_mapping *m = b->maps.v[j] < p->mappings.n ? &p->mappings.v[b->maps.v[j]] : NULL;
		if (m && !m->build_id && bp->mappings.v[j].build_id)
			m->build_id = profile_copy_str(p, bp, bp->mappings.v[j].build_id);
	}
	merge_list(p, bp, "missing_modules");
	merge_list(p, bp, "unsymbolized_modules");
	const char *k = profile_get_meta(bp, "kernel_symbols");
	if (k)
		profile_set_meta(p, "kernel_symbols", k);
}

void serve_symbols_apply(struct serve_symbols *ss, struct profile *p)
{
	pthread_mutex_lock(&ss->lock);
	struct serve_sym_batch *b = ss->done;
	ss->done = NULL;
	pthread_mutex_unlock(&ss->lock);
	while (b) {
		struct serve_sym_batch *next = b->next;
		if (b->generation == ss->generation) {
			batch_copy_back(p, b);
			ss->pending -= b->locs.n;
		}
		batch_free(b);
		b = next;
	}
}

void serve_symbols_renamed(struct serve_symbols *ss)
{
	ss->generation++;
	ss->sent = 0;
	ss->pending = 0;
}

void serve_symbols_resolve(struct serve_symbols *ss, struct profile *p)
{
	struct symbolizer_stats st;
	pthread_mutex_lock(&ss->sym_lock);
	(void)symbols_resolve_profile_with(p, ss->sym, NULL);
	symbolizer_get_stats(ss->sym, &st);
	pthread_mutex_unlock(&ss->sym_lock);
	pthread_mutex_lock(&ss->lock);
	ss->stats = st;
	pthread_mutex_unlock(&ss->lock);
}

void serve_symbols_get_stats(struct serve_symbols *ss, struct symbolizer_stats *st)
{
	pthread_mutex_lock(&ss->lock);
	*st = ss->stats;
	pthread_mutex_unlock(&ss->lock);
}

void serve_symbols_release(struct serve_symbols *ss)
{
	if (!ss->inited)
		return;
	if (ss->started) {
		pthread_mutex_lock(&ss->lock);
		ss->stop = true;
		pthread_cond_signal(&ss->wake);
		pthread_mutex_unlock(&ss->lock);
		pthread_join(ss->thread, NULL);
		ss->started = false;
	}
	list_free(ss->todo);
	list_free(ss->done);
	ss->todo = ss->done = NULL;
	symbolizer_free(ss->sym);
	ss->sym = NULL;
	pthread_mutex_destroy(&ss->lock);
	pthread_mutex_destroy(&ss->sym_lock);
	pthread_cond_destroy(&ss->wake);
	ss->inited = false;
}
