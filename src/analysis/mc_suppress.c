/* mc_suppress.c - reads suppression files and matches errors and leaks
 * against them (mc_suppress.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "analysis/mc_suppress.h"
#include "util/vec.h"
#include "util/xalloc.h"

enum item_type { ITEM_FUN, ITEM_OBJ, ITEM_SRC, ITEM_ANY };

struct item {
	enum item_type type;
	char *pattern;
};

/* Which kinds a suppression covers: bit k for MC_* kind k, bit 0 for
 * leaks; none when it names a valgrind kind kiln does not detect. */
struct suppression {
	char *name;
	uint32_t kinds;
	unsigned leak_mask; /* 1 << class; all when not said */
	VEC(struct item) items;
};

struct mc_suppressions {
	VEC(struct suppression) v;
};

#define ALL_ERRORS 0xfffffffeu

/* kiln's names (mc_kind_id) and valgrind's Memcheck kinds. */
static int kind_parse(const char *s, uint32_t *kinds)
{
	const char *colon = strchr(s, ':');
	if (!colon)
		return -EINVAL;
	size_t tl = (size_t)(colon - s);
	const char *k = colon + 1;
	if (tl == 4 && !strncmp(s, "kiln", 4)) {
		if (!strcmp(k, "*")) {
			*kinds = ALL_ERRORS | 1;
			return 0;
		}
		if (!strcmp(k, "leak")) {
			*kinds = 1;
			return 0;
		}
		for (uint32_t i = 1; i < 32; i++) {
			const char *id = mc_kind_id(i);
			if (id && !strcmp(id, k)) {
				*kinds = 1u << i;
				return 0;
			}
		}
		return -EINVAL;
	}
	if (tl != 8 || strncasecmp(s, "memcheck", 8))
		return -EINVAL;
	if (!strncmp(k, "Addr", 4)) {
		*kinds = (1u << MC_OVERFLOW) | (1u << MC_USE_AFTER_FREE) | (1u << MC_SLACK_DAMAGE);
		return 0;
	}
	if (!strcmp(k, "Free")) {
		*kinds = ALL_ERRORS & ~((1u << MC_OVERFLOW) | (1u << MC_USE_AFTER_FREE) | (1u << MC_SLACK_DAMAGE));
		return 0;
	}
	if (!strcmp(k, "Leak")) {
		*kinds = 1;
		return 0;
	}
	static const char *const never[] = {"Value1", "Value2",  "Value4",     "Value8",      "Value16", "Cond",
	                                    "Param",  "Overlap", "FishyValue", "ClientCheck", "Jump"};
	for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++)
		if (!strcmp(k, never[i])) {
			*kinds = 0; /* valgrind's, undetected by kiln: never matches */
			return 0;
		}
	return -EINVAL;
}

static void suppression_release(struct suppression *s)
{
	free(s->name);
	for (size_t i = 0; i < s->items.n; i++)
		free(s->items.v[i].pattern);
	vec_free(&s->items);
}

/* One line without its indentation and trailing blanks. */
static char *line_trim(const char *p, size_t len)
{
	while (len && (*p == ' ' || *p == '\t'))
		p++, len--;
	while (len && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\r'))
		len--;
	return xstrndup(p, len);
}

enum state { OUTSIDE, NAME, KIND, BODY };

/* One line inside a suppression; 0 or -EINVAL with *why. */
static int body_line(struct suppression *s, const char *l, const char **why)
{
	if (!strncmp(l, "match-leak-kinds:", 17)) {
		const char *v = l + 17;
		while (*v == ' ')
			v++;
		if (!(s->kinds & 1)) {
			*why = "match-leak-kinds is for leak suppressions (kiln:leak or Memcheck:Leak)";
			return -EINVAL;
		}
		if (mc_leak_kinds_parse(v, &s->leak_mask)) {
			*why = "match-leak-kinds takes definite, indirect, possible, reachable, all or none, "
			       "comma-separated";
			return -EINVAL;
		}
		return 0;
	}
	if (!strncmp(l, "...", 3) && !l[3]) {
		vec_push(&s->items, ((struct item){ITEM_ANY, NULL}));
		return 0;
	}
	enum item_type t;
	if (!strncmp(l, "fun:", 4))
		t = ITEM_FUN;
	else if (!strncmp(l, "obj:", 4))
		t = ITEM_OBJ;
	else if (!strncmp(l, "src:", 4))
		t = ITEM_SRC;
	else {
		*why = "a frame line is fun:PATTERN, obj:PATTERN, src:FILE:LINE or ...";
		return -EINVAL;
	}
	if (!l[4]) {
		*why = "an empty pattern";
		return -EINVAL;
	}
	vec_push(&s->items, ((struct item){t, xstrdup(l + 4)}));
	return 0;
}

int mc_suppressions_parse(struct mc_suppressions **sp, const char *text, size_t len, unsigned *line, const char **why)
{
	if (!*sp)
		*sp = xcalloc(1, sizeof(**sp));
	struct mc_suppressions *set = *sp;
	struct suppression cur = {0};
	enum state st = OUTSIDE;
	unsigned no = 0, open_at = 0;
	int rc = 0;
	for (size_t at = 0; at < len;) {
		const char *nl = memchr(text + at, '\n', len - at);
		size_t ll = nl ? (size_t)(nl - (text + at)) : len - at;
		char *l = line_trim(text + at, ll);
		at += ll + (nl ? 1 : 0);
		no++;
		if (!*l || (*l == '#' && st != NAME)) {
			free(l);
			continue;
		}
		switch (st) {
		case OUTSIDE:
			if (strcmp(l, "{")) {
				*why = "expected '{' to open a suppression";
				rc = -EINVAL;
				break;
			}
			memset(&cur, 0, sizeof(cur));
			cur.leak_mask = ~0u;
			open_at = no;
			st = NAME;
			break;
		case NAME:
			if (!strcmp(l, "{") || !strcmp(l, "}")) {
				*why = "a suppression starts with its name";
				rc = -EINVAL;
				break;
			}
			cur.name = xstrdup(l);
			st = KIND;
			break;
		case KIND:
			if (kind_parse(l, &cur.kinds)) {
				*why =
				    "expected the kind: kiln:KIND (heap-overflow, use-after-free, double-free, "
				    "invalid-free, realloc-freed, slack-damage, leak, *) or Memcheck:Addr*, Free, Leak";
				rc = -EINVAL;
				break;
			}
			st = BODY;
			break;
		case BODY:
			if (!strcmp(l, "}")) {
				vec_push(&set->v, cur);
				memset(&cur, 0, sizeof(cur));
				st = OUTSIDE;
				break;
			}
			if (!strcmp(l, "{")) {
				*why = "a '{' inside a suppression: the one before is not closed";
				rc = -EINVAL;
				break;
			}
			rc = body_line(&cur, l, why);
			break;
		}
		free(l);
		if (rc)
			goto out_fail;
	}
	if (st != OUTSIDE) {
		no = open_at;
		*why = "this suppression is not closed with '}'";
		rc = -EINVAL;
		goto out_fail;
	}
	return 0;
out_fail:
	suppression_release(&cur);
	*line = no;
	return rc;
}

void mc_suppressions_free(struct mc_suppressions *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->v.n; i++)
		suppression_release(&s->v.v[i]);
	vec_free(&s->v);
	free(s);
}

size_t mc_suppressions_count(const struct mc_suppressions *s)
{
	return s ? s->v.n : 0;
}

/* Glob with * and ? only, as valgrind's. */
static bool glob(const char *p, const char *s)
{
	const char *star = NULL, *resume = NULL;
	while (*s) {
		if (*p == '*') {
			star = p++;
			resume = s;
		} else if (*p == '?' || *p == *s) {
			p++;
			s++;
		} else if (star) {
			p = star + 1;
			s = ++resume;
		} else {
			return false;
		}
	}
	while (*p == '*')
		p++;
	return !*p;
}

static bool frame_matches(const struct item *it, const struct mc_sframe *f)
{
	switch (it->type) {
	case ITEM_FUN:
		return glob(it->pattern, f->function ? f->function : "???");
	case ITEM_OBJ:
		return glob(it->pattern, f->module ? f->module : "???");
	case ITEM_SRC: {
		if (!f->file)
			return false;
		const char *base = strrchr(f->file, '/');
		char where[512];
		snprintf(where, sizeof(where), "%s:%u", base ? base + 1 : f->file, f->line);
		return glob(it->pattern, where);
	}
	case ITEM_ANY:
		return true;
	}
	return false;
}

static bool items_match(const struct item *it, size_t ni, const struct mc_sframe *f, size_t nf)
{
	if (!ni)
		return true; /* frames past the last line are not looked at */
	if (it->type == ITEM_ANY) {
		for (size_t k = 0; k <= nf; k++)
			if (items_match(it + 1, ni - 1, f + k, nf - k))
				return true;
		return false;
	}
	return nf && frame_matches(it, f) && items_match(it + 1, ni - 1, f + 1, nf - 1);
}

/* valgrind's stacks start in the allocator (fun:malloc); kiln's at its
 * caller: those leading lines are skipped. */
static bool allocator_entry(const struct item *it)
{
	static const char *const names[] = {
	    "malloc", "calloc", "realloc", "free",   "memalign", "posix_memalign", "aligned_alloc",
	    "valloc", "_Znwm",  "_Znam",   "_ZdlPv", "_ZdaPv",   "operator new*",  "operator delete*"};
	if (it->type != ITEM_FUN)
		return false;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (glob(names[i], it->pattern) || !strcmp(names[i], it->pattern))
			return true;
	return false;
}

const char *mc_suppressions_match(const struct mc_suppressions *s, uint32_t kind, uint8_t cls,
                                  const struct mc_stack *st)
{
	if (!s)
		return NULL;
	for (size_t i = 0; i < s->v.n; i++) {
		const struct suppression *p = &s->v.v[i];
		if (kind >= 32 || !(p->kinds & (1u << kind)))
			continue;
		if (!kind && !(p->leak_mask & (1u << cls)))
			continue;
		const struct item *it = p->items.v;
		size_t ni = p->items.n;
		while (ni && allocator_entry(it) && !(st->n && frame_matches(it, &st->f[0])))
			it++, ni--;
		if (items_match(it, ni, st->f, st->n))
			return p->name;
	}
	return NULL;
}

void mc_suppression_format(struct strbuf *out, uint32_t kind, uint8_t cls, const struct mc_stack *st)
{
	strbuf_addstr(out, "{\n   <insert_a_suppression_name_here>\n");
	if (kind) {
		strbuf_addf(out, "   kiln:%s\n", mc_kind_id(kind) ? mc_kind_id(kind) : "*");
	} else {
		strbuf_addstr(out, "   kiln:leak\n");
		strbuf_addf(out, "   match-leak-kinds: %s\n", mc_leak_class_id(cls) ? mc_leak_class_id(cls) : "all");
	}
	for (uint32_t i = 0; i < st->n; i++) {
		const struct mc_sframe *f = &st->f[i];
		if (f->function)
			strbuf_addf(out, "   fun:%s\n", f->function);
		else if (f->module)
			strbuf_addf(out, "   obj:%s\n", f->module);
		else
			strbuf_addstr(out, "   obj:???\n");
	}
	strbuf_addstr(out, "}\n");
}
