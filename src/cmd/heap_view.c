/* heap_view.c - the heap summary of a heap profile for `kiln report FILE`,
 * and the --alloc-fn option `kiln heap` shares. The file keeps every
 * number the summary shows (heap_load.c), so it reads as `kiln heap`
 * printed it at the end of the run; kiln heap itself renders its live
 * analysis, which holds the same numbers, rather than pay for a second
 * copy of a million sites. */
#include <errno.h>

#include "analysis/alloc_site.h"
#include "analysis/heap.h"
#include "cmd/cmd.h"
#include "render/heap.h"

int cmd_alloc_fn(struct alloc_rule **rule, const char *regex)
{
	char why[256] = "";
	if (!*rule)
		*rule = alloc_rule_new();
	if (alloc_rule_add(*rule, regex, why, sizeof(why))) {
		kiln_error("--alloc-fn takes a regular expression (POSIX extended), like 'xmalloc|my_alloc_.*'; "
		           "'%s' is not one: %s",
		           regex, why);
		return 2;
	}
	return 0;
}

int cmd_heap_view(struct strbuf *out, struct profile *p, const struct alloc_rule *rule,
                  const struct heap_render_opts *o, bool json)
{
	struct heap_analysis *h = heap_from_profile(p);
	if (!h)
		return -EINVAL;
	heap_set_alloc_rule(h, rule);
	heap_group(h);
	if (json)
		heap_render_json(out, h, o);
	else
		heap_render_text(out, h, o);
	heap_free(h);
	return 0;
}
