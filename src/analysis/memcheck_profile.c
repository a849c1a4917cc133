/* memcheck_profile.c - a memcheck report as a profile and back
 * (memcheck_profile.h; the layout is in docs/file-format.md, "Memcheck
 * profiles"). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/memcheck_profile.h"
#include "util/strbuf.h"
#include "util/vec.h"
#include "util/xalloc.h"

enum { V_ERRORS, V_LEAKED_SPACE, V_LEAKED_OBJECTS };

bool mc_profile_is(const struct profile *p)
{
	const char *ev = profile_get_meta(p, "event");
	return ev && !strcmp(ev, "memcheck");
}

/* ---- writing ---- */

struct module_map {
	uint32_t pid;
	const char *module;
	uint64_t start;
	uint32_t id;
};

struct writer {
	struct profile *p;
	VEC(struct module_map) maps;
};

/* One mapping per process, module and load address: frames of two
 * processes at one address are different code. */
static uint32_t mapping_of(struct writer *w, uint32_t pid, const struct mc_sframe *f)
{
	if (!f->module)
		return PROFILE_NO_MAPPING;
	uint64_t start = f->addr - f->offset;
	for (size_t i = 0; i < w->maps.n; i++)
		if (w->maps.v[i].pid == pid && w->maps.v[i].start == start && !strcmp(w->maps.v[i].module, f->module))
			return w->maps.v[i].id;
	struct profile_mapping m = {
	    .pid = pid,
	    .start = start,
	    .end = UINT64_MAX,
	    .pgoff = 0,
	    .path = profile_intern(w->p, f->module),
	};
	uint32_t id = profile_add_mapping(w->p, &m);
	vec_push(&w->maps, ((struct module_map){pid, f->module, start, id}));
	return id;
}

/* The stack's node, each address one location with its frames (the
 * inlined ones first). */
static uint32_t stack_put(struct writer *w, uint32_t pid, const struct mc_stack *st)
{
	VEC(uint32_t) locs = {0};
	VEC(struct profile_frame) fr = {0};
	for (uint32_t i = 0; i < st->n;) {
		uint32_t j = i;
		while (j + 1 < st->n && st->f[j].inlined)
			j++;
		const struct mc_sframe *real = &st->f[j];
		uint32_t loc = profile_location(w->p, mapping_of(w, pid, real), real->addr, PROFILE_LOC_USER);
		fr.n = 0;
		for (uint32_t k = i; k <= j; k++) {
			const struct mc_sframe *f = &st->f[k];
			struct profile_frame *o = vec_grow(&fr);
			o->function = f->function ? profile_intern(w->p, f->function) : 0;
			o->file = f->file ? profile_intern(w->p, f->file) : 0;
			o->line = f->line;
			o->module = f->module ? profile_intern(w->p, profile_module_name(f->module)) : 0;
			o->inlined = k < j;
		}
		profile_set_location_frames(w->p, loc, fr.v, (uint32_t)fr.n);
		vec_push(&locs, loc);
		i = j + 1;
	}
	uint32_t node = locs.n ? profile_stack_from_leaf(w->p, locs.v, (uint32_t)locs.n) : 0;
	vec_free(&locs);
	vec_free(&fr);
	return node;
}

void mc_report_to_profile(const struct mc_report *r, struct profile *p)
{
	struct writer w = {.p = p};
	profile_add_value_type(p, "errors", "count");
	profile_add_value_type(p, "leaked_space", "bytes");
	profile_add_value_type(p, "leaked_objects", "count");
	profile_set_meta(p, "event", "memcheck");
	struct strbuf v = STRBUF_INIT;
	char key[64];
	strbuf_addf(&v, "show=%u errors_for=%u exitcode=%d", r->show_leaks, r->error_leaks, r->exitcode);
	profile_set_meta(p, "memcheck_settings", strbuf_str(&v));
	strbuf_reset(&v);
	const struct mc_counts *c = &r->stats;
	strbuf_addf(
	    &v, "guarded=%" PRIu64 " unguarded=%" PRIu64 " processes=%" PRIu32 " scanned=%" PRIu32 " leaks_checked=%d",
	    c->guarded, c->unguarded, c->processes, c->scanned, r->leaks_checked);
	/* why blocks went unguarded, and the sampling, as the summary says */
	strbuf_addf(&v,
	            " over_limit=%" PRIu64 " no_room=%" PRIu64 " max_guarded=%" PRIu64 " sample=%" PRIu32
	            " foreign_frees=%" PRIu64,
	            c->over_limit, c->no_room, c->max_guarded, c->sample, c->foreign_frees);
	profile_set_meta(p, "memcheck_counts", strbuf_str(&v));
	for (size_t i = 0; i < r->n_errors; i++) {
		const struct mc_report_error *e = &r->errors[i];
		const struct mc_error_info *k = &e->rec;
		uint32_t access = stack_put(&w, e->pid, &e->access);
		uint32_t alloc = stack_put(&w, e->pid, &e->alloc);
		uint32_t free_ = stack_put(&w, e->pid, &e->free);
		struct profile_sample s = {.stack = access, .tid = k->tid, .pid = e->pid, .cpu = k->kind};
		s.values[V_ERRORS] = 1;
		profile_add_sample(p, &s);
		strbuf_reset(&v);
		strbuf_addf(&v,
		            "kind=%" PRIu32 " flags=%" PRIu32 " addr=%" PRIu64 " block=%" PRIu64 " size=%" PRIu64
		            " tid=%" PRIu32 " alloc_tid=%" PRIu32 " free_tid=%" PRIu32 " pid=%" PRIu32
		            " access=%" PRIu32 " alloc=%" PRIu32 " free=%" PRIu32,
		            k->kind, k->flags, k->addr, k->block, k->block_size, k->tid, k->alloc_tid, k->free_tid,
		            e->pid, access, alloc, free_);
		if (e->suppressed)
			strbuf_addf(&v, " suppressed=%s", e->suppressed);
		snprintf(key, sizeof(key), "memcheck_error_%zu", i);
		profile_set_meta(p, key, strbuf_str(&v));
	}
	for (size_t i = 0; i < r->n_losses; i++) {
		const struct mc_loss *l = &r->losses[i];
		uint32_t node = stack_put(&w, l->pid, &l->alloc);
		struct profile_sample s = {.stack = node, .pid = l->pid, .cpu = l->cls};
		s.values[V_LEAKED_SPACE] = (int64_t)l->bytes;
		s.values[V_LEAKED_OBJECTS] = (int64_t)l->blocks;
		profile_add_sample(p, &s);
		strbuf_reset(&v);
		strbuf_addf(&v, "class=%u bytes=%" PRIu64 " blocks=%" PRIu64 " pid=%" PRIu32 " stack=%" PRIu32, l->cls,
		            l->bytes, l->blocks, l->pid, node);
		if (l->suppressed)
			strbuf_addf(&v, " suppressed=%s", l->suppressed);
		snprintf(key, sizeof(key), "memcheck_loss_%zu", i);
		profile_set_meta(p, key, strbuf_str(&v));
	}
	profile_set_meta_u64(p, "memcheck_errors", r->n_errors);
	profile_set_meta_u64(p, "memcheck_losses", r->n_losses);
	strbuf_release(&v);
	vec_free(&w.maps);
}

/* ---- reading: the file is untrusted ---- */

/* The value of key in "k=v k=v ..." (a whole word), as a number; false
 * when absent or not a number. */
static bool field_u64(const char *s, const char *key, uint64_t *out)
{
	size_t kl = strlen(key);
	for (const char *at = s; (at = strstr(at, key)); at += kl) {
		if ((at != s && at[-1] != ' ') || at[kl] != '=')
			continue;
		const char *v = at + kl + 1;
		if (*v < '0' || *v > '9')
			return false;
		char *end;
		errno = 0;
		unsigned long long x = strtoull(v, &end, 10);
		if (errno || (*end && *end != ' '))
			return false;
		*out = x;
		return true;
	}
	return false;
}

static bool field_u32(const char *s, const char *key, uint32_t *out)
{
	uint64_t v;
	if (!field_u64(s, key, &v) || v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* " suppressed=" runs to the end: the name may hold spaces. */
static const char *field_rest(const char *s, const char *key)
{
	const char *at = strstr(s, key);
	return at ? at + strlen(key) : NULL;
}

static const char *keep(struct mc_report *r, const char *s)
{
	if (!s)
		return NULL;
	if (r->n_strings == r->cap_strings) {
		r->cap_strings = r->cap_strings ? r->cap_strings * 2 : 64;
		r->strings = xreallocarray(r->strings, r->cap_strings, sizeof(*r->strings));
	}
	return r->strings[r->n_strings++] = xstrdup(s);
}

static const char *str_or_null(const struct profile *p, uint32_t id)
{
	const char *s = id ? profile_str(p, id) : NULL;
	return s && *s ? s : NULL;
}

/* The stack at node, innermost first; -EINVAL when node is not one. */
static int stack_get(struct mc_report *r, const struct profile *p, uint32_t node, struct mc_stack *out)
{
	if (node >= p->stacks.n)
		return -EINVAL;
	VEC(struct mc_sframe) v = {0};
	for (uint32_t at = node, steps = 0; at; at = p->stacks.v[at].parent) {
		if (++steps > p->stacks.n) { /* a reader's trie cannot loop, but do not trust it */
			vec_free(&v);
			return -EINVAL;
		}
		uint32_t li = p->stacks.v[at].location;
		if (li >= p->locations.n) {
			vec_free(&v);
			return -EINVAL;
		}
		const struct profile_location *l = &p->locations.v[li];
		const struct profile_mapping *m = l->mapping < p->mappings.n ? &p->mappings.v[l->mapping] : NULL;
		const char *module = m ? keep(r, str_or_null(p, m->path)) : NULL;
		uint64_t offset = m ? l->address - m->start + m->pgoff : 0;
		uint32_t nf = (uint64_t)l->first_frame + l->nframes <= p->frames.n ? l->nframes : 0;
		for (uint32_t k = 0; k < (nf ? nf : 1); k++) {
			struct mc_sframe *o = vec_grow(&v);
			o->addr = l->address;
			o->module = module;
			o->offset = offset;
			if (!nf)
				continue;
			const struct profile_frame *f = &p->frames.v[l->first_frame + k];
			o->function = keep(r, str_or_null(p, f->function));
			o->file = keep(r, str_or_null(p, f->file));
			o->line = o->file ? f->line : 0;
			o->inlined = k + 1 < nf;
		}
	}
	out->f = v.v;
	out->n = (uint32_t)v.n;
	return 0;
}

static int error_get(struct mc_report *r, const struct profile *p, const char *s, struct mc_report_error *e)
{
	struct mc_error_info *k = &e->rec;
	uint32_t access, alloc, free_;
	if (!field_u32(s, "kind", &k->kind) || !field_u32(s, "flags", &k->flags) || !field_u64(s, "addr", &k->addr) ||
	    !field_u64(s, "block", &k->block) || !field_u64(s, "size", &k->block_size) ||
	    !field_u32(s, "tid", &k->tid) || !field_u32(s, "alloc_tid", &k->alloc_tid) ||
	    !field_u32(s, "free_tid", &k->free_tid) || !field_u32(s, "pid", &e->pid) ||
	    !field_u32(s, "access", &access) || !field_u32(s, "alloc", &alloc) || !field_u32(s, "free", &free_))
		return -EINVAL;
	if (stack_get(r, p, access, &e->access) || stack_get(r, p, alloc, &e->alloc) ||
	    stack_get(r, p, free_, &e->free))
		return -EINVAL;
	k->n_free = e->free.n;
	e->suppressed = keep(r, field_rest(s, " suppressed="));
	if (e->suppressed)
		r->suppressed_errors++;
	return 0;
}

static int loss_get(struct mc_report *r, const struct profile *p, const char *s, struct mc_loss *l)
{
	uint32_t cls, node;
	if (!field_u32(s, "class", &cls) || cls < HEAP_LEAK_REACHABLE || cls > HEAP_LEAK_DEFINITE ||
	    !field_u64(s, "bytes", &l->bytes) || !field_u64(s, "blocks", &l->blocks) || !field_u32(s, "pid", &l->pid) ||
	    !field_u32(s, "stack", &node) || stack_get(r, p, node, &l->alloc))
		return -EINVAL;
	l->cls = (uint8_t)cls;
	l->suppressed = keep(r, field_rest(s, " suppressed="));
	mc_report_count_loss(r, l);
	return 0;
}

int mc_report_from_profile(const struct profile *p, struct mc_report **out)
{
	*out = NULL;
	if (!mc_profile_is(p))
		return -EINVAL;
	struct mc_report *r = xcalloc(1, sizeof(*r));
	int rc = -EINVAL;
	const char *set = profile_get_meta(p, "memcheck_settings");
	const char *cnt = profile_get_meta(p, "memcheck_counts");
	uint32_t exitcode = 0, checked = 0;
	if (!set || !cnt || !field_u32(set, "show", &r->show_leaks) || !field_u32(set, "errors_for", &r->error_leaks) ||
	    !field_u32(set, "exitcode", &exitcode) || exitcode > 255 || !field_u64(cnt, "guarded", &r->stats.guarded) ||
	    !field_u64(cnt, "unguarded", &r->stats.unguarded) || !field_u32(cnt, "processes", &r->stats.processes) ||
	    !field_u32(cnt, "scanned", &r->stats.scanned) || !field_u32(cnt, "leaks_checked", &checked))
		goto out;
	r->exitcode = (int)exitcode;
	r->leaks_checked = checked != 0;
	/* absent from files written before they were kept: 0 */
	(void)field_u64(cnt, "over_limit", &r->stats.over_limit);
	(void)field_u64(cnt, "no_room", &r->stats.no_room);
	(void)field_u64(cnt, "max_guarded", &r->stats.max_guarded);
	(void)field_u32(cnt, "sample", &r->stats.sample);
	(void)field_u64(cnt, "foreign_frees", &r->stats.foreign_frees);
	uint64_t ne = profile_get_meta_u64(p, "memcheck_errors", 0);
	uint64_t nl = profile_get_meta_u64(p, "memcheck_losses", 0);
	/* every one has its key: a count beyond the keys is a lie */
	if (ne > p->meta.n || nl > p->meta.n)
		goto out;
	r->errors = xcalloc(ne ? ne : 1, sizeof(*r->errors));
	r->losses = xcalloc(nl ? nl : 1, sizeof(*r->losses));
	char key[64];
	for (uint64_t i = 0; i < ne; i++) {
		r->n_errors = i + 1; /* freed with r from here, whatever is filled in */
		snprintf(key, sizeof(key), "memcheck_error_%" PRIu64, i);
		const char *s = profile_get_meta(p, key);
		if (!s || error_get(r, p, s, &r->errors[i]))
			goto out;
	}
	for (uint64_t i = 0; i < nl; i++) {
		r->n_losses = i + 1;
		snprintf(key, sizeof(key), "memcheck_loss_%" PRIu64, i);
		const char *s = profile_get_meta(p, key);
		if (!s || loss_get(r, p, s, &r->losses[i]))
			goto out;
	}
	rc = 0;
	*out = r;
	r = NULL;
out:
	mc_report_free(r);
	return rc;
}
