/* profile_filter.c - keeps the samples of some processes, threads or
 * commands, and splits a profile by command (profile_filter.h). */
#include "profile/profile_filter.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/hashmap.h"
#include "util/num.h"
#include "util/xalloc.h"

void profile_filter_init(struct profile_filter *f)
{
	memset(f, 0, sizeof(*f));
}

void profile_filter_release(struct profile_filter *f)
{
	if (!f)
		return;
	vec_free(&f->pids);
	vec_free(&f->tids);
	for (size_t i = 0; i < f->comms.n; i++)
		free(f->comms.v[i]);
	vec_free(&f->comms);
}

bool profile_filter_active(const struct profile_filter *f)
{
	return f->pids.n || f->tids.n || f->comms.n;
}

/* Appends the numbers of a comma list to ids_vec (a VEC(uint32_t)); -EINVAL,
 * adding none, when an entry is empty or not a number below 2^32. */
static int parse_ids(const char *list, void *ids_vec)
{
	VEC(uint32_t) *ids = ids_vec, parsed = {0};
	const char *s = list;
	int rc = 0;
	for (;;) {
		const char *comma = strchr(s, ',');
		size_t len = comma ? (size_t)(comma - s) : strlen(s);
		uint64_t v = 0;
		if (num_scan_u64(s, s + len, 10, &v) != s + len || v > UINT32_MAX) {
			rc = -EINVAL;
			goto out_free;
		}
		vec_push(&parsed, (uint32_t)v);
		if (!comma)
			break;
		s = comma + 1;
	}
	for (size_t i = 0; i < parsed.n; i++)
		vec_push(ids, parsed.v[i]);
out_free:
	vec_free(&parsed);
	return rc;
}

int profile_filter_add_pids(struct profile_filter *f, const char *list)
{
	return parse_ids(list, &f->pids);
}

int profile_filter_add_tids(struct profile_filter *f, const char *list)
{
	return parse_ids(list, &f->tids);
}

int profile_filter_add_comms(struct profile_filter *f, const char *list)
{
	for (const char *s = list;; s++) {
		const char *comma = strchr(s, ',');
		if (comma == s || !*s)
			return -EINVAL;
		if (!comma)
			break;
		s = comma;
	}
	for (const char *s = list;;) {
		const char *comma = strchr(s, ',');
		size_t len = comma ? (size_t)(comma - s) : strlen(s);
		vec_push(&f->comms, xstrndup(s, len));
		if (!comma)
			break;
		s = comma + 1;
	}
	return 0;
}

uint32_t profile_sample_command(const struct profile *p, const struct profile_sample *s)
{
	const struct profile_thread *main_thread = profile_find_thread(p, s->pid);
	if (main_thread && main_thread->pid == s->pid && main_thread->name)
		return main_thread->name;
	const struct profile_thread *t = profile_find_thread(p, s->tid);
	return t ? t->name : 0;
}

static bool has_id(const uint32_t *v, size_t n, uint32_t id)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == id)
			return true;
	return false;
}

static bool has_name(const struct profile_filter *f, const char *name)
{
	for (size_t i = 0; i < f->comms.n; i++)
		if (!strcmp(f->comms.v[i], name))
			return true;
	return false;
}

bool profile_filter_match(const struct profile *p, const struct profile_filter *f, const struct profile_sample *s)
{
	if (f->pids.n && !has_id(f->pids.v, f->pids.n, s->pid))
		return false;
	if (f->tids.n && !has_id(f->tids.v, f->tids.n, s->tid))
		return false;
	if (!f->comms.n)
		return true;
	uint32_t command = profile_sample_command(p, s);
	if (command && has_name(f, profile_str(p, command)))
		return true;
	const struct profile_thread *t = profile_find_thread(p, s->tid);
	return t && t->name && t->name != command && has_name(f, profile_str(p, t->name));
}

size_t profile_filter_apply(struct profile *p, const struct profile_filter *f)
{
	if (!profile_filter_active(f))
		return p->samples.n;
	size_t kept = 0;
	for (size_t i = 0; i < p->samples.n; i++)
		if (profile_filter_match(p, f, &p->samples.v[i]))
			p->samples.v[kept++] = p->samples.v[i];
	p->samples.n = kept;
	return kept;
}

size_t profile_keep_command(struct profile *p, uint32_t command)
{
	size_t kept = 0;
	for (size_t i = 0; i < p->samples.n; i++)
		if (profile_sample_command(p, &p->samples.v[i]) == command)
			p->samples.v[kept++] = p->samples.v[i];
	p->samples.n = kept;
	return kept;
}

static void describe_ids(struct strbuf *sb, const char *what, const uint32_t *v, size_t n)
{
	if (!n)
		return;
	strbuf_addf(sb, "%s%s ", sb->len ? ", " : "", what);
	for (size_t i = 0; i < n; i++)
		strbuf_addf(sb, "%s%u", i ? "," : "", v[i]);
}

void profile_filter_describe(const struct profile_filter *f, struct strbuf *sb)
{
	if (f->comms.n) {
		strbuf_addf(sb, "%scomm ", sb->len ? ", " : "");
		for (size_t i = 0; i < f->comms.n; i++)
			strbuf_addf(sb, "%s%s", i ? "," : "", f->comms.v[i]);
	}
	describe_ids(sb, "pid", f->pids.v, f->pids.n);
	describe_ids(sb, "tid", f->tids.v, f->tids.n);
}

static int cmp_u32(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
	return a < b ? -1 : a > b;
}

static int cmp_command(const void *x, const void *y, void *ctx)
{
	const struct profile *p = ctx;
	const struct profile_command *a = x, *b = y;
	if (a->samples != b->samples)
		return a->samples > b->samples ? -1 : 1;
	return strcmp(profile_str(p, a->name), profile_str(p, b->name));
}

void profile_commands_build(const struct profile *p, struct profile_commands *out)
{
	memset(out, 0, sizeof(*out));
	struct hashmap by_name; /* command string id -> index in out->v */
	struct hashmap seen;    /* (index << 32 | pid) -> 1 */
	hashmap_init(&by_name);
	hashmap_init(&seen);
	for (size_t i = 0; i < p->samples.n; i++) {
		const struct profile_sample *s = &p->samples.v[i];
		uint32_t name = profile_sample_command(p, s);
		uint64_t idx;
		if (!hashmap_get(&by_name, name, &idx)) {
			struct profile_command *c = vec_grow(&out->v);
			c->name = name;
			idx = out->v.n - 1;
			hashmap_put(&by_name, name, idx);
		}
		struct profile_command *c = &out->v.v[idx];
		c->samples++;
		uint64_t key = idx << 32 | s->pid, one;
		if (!hashmap_get(&seen, key, &one)) {
			hashmap_put(&seen, key, 1);
			vec_push(&c->pids, s->pid);
		}
	}
	for (size_t i = 0; i < out->v.n; i++)
		if (out->v.v[i].pids.n > 1)
			qsort(out->v.v[i].pids.v, out->v.v[i].pids.n, sizeof(uint32_t), cmp_u32);
	if (out->v.n > 1)
		qsort_r(out->v.v, out->v.n, sizeof(*out->v.v), cmp_command, (void *)p);
	hashmap_release(&by_name);
	hashmap_release(&seen);
}

void profile_commands_release(struct profile_commands *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->v.n; i++)
		vec_free(&c->v.v[i].pids);
	vec_free(&c->v);
}
