/* fuzz_folded.c - libFuzzer target for the folded stacks reader
 * (folded_read_mem, and folded_scan_mem into flame_folded, the profile-free
 * path of kiln flame), followed by the flame tree and both renderers, so
 * hostile names also exercise the SVG escaping and truncation. Both paths
 * must give the same tree: their folded output is compared; and a tree
 * built with narrow subtrees packed (flame_folded_narrow()) must draw the
 * same SVG and, every node opened, be the same tree. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/flame_tree.h"
#include "profile/folded_read.h"
#include "render/flame.h"

static void add_line(void *ctx, const char *stack, size_t len, int64_t count)
{
	flame_folded_add(ctx, stack, len, count);
}

static char *folded_of(const struct flame_tree *t, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	if (!f)
		abort();
	flame_render_folded(f, t);
	fclose(f);
	return buf;
}

static char *svg_of(struct flame_tree *t, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	if (!f)
		abort();
	flame_render_svg(f, t, &(struct flame_svg_options){.width = 300});
	fclose(f);
	return buf;
}

/* fast's SVG and tree again, built with narrow subtrees packed. */
static void check_packed(const uint8_t *data, size_t size, struct flame_tree *fast)
{
	struct flame_tree packed;
	flame_tree_init(&packed);
	struct flame_folded fb;
	flame_folded_init(&fb, &packed);
	flame_folded_narrow(&fb, size & 2 ? 0.3 : 0.001);
	flame_folded_input_size(&fb, size / 3);
	folded_scan_mem((const char *)data, size, add_line, &fb, NULL);
	flame_folded_finish(&fb);
	size_t la, lb;
	char *a = svg_of(fast, &la), *b = svg_of(&packed, &lb);
	if (la != lb || memcmp(a, b, la))
		abort();
	free(a);
	free(b);
	for (size_t i = 0; i < packed.nodes.n; i++)
		flame_tree_open(&packed, (uint32_t)i);
	a = folded_of(fast, &la);
	b = folded_of(&packed, &lb);
	if (la != lb || memcmp(a, b, la) || packed.nodes.n != fast->nodes.n || packed.npacked)
		abort();
	free(a);
	free(b);
	flame_tree_release(&packed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *sink;
	if (!sink)
		sink = fopen("/dev/null", "w");
	struct profile *p = NULL;
	folded_sniff((const char *)data, size, true);
	folded_sniff((const char *)data, size, false);
	struct flame_tree fast;
	flame_tree_init(&fast);
	struct flame_folded fb;
	flame_folded_init(&fb, &fast);
	int frc = folded_scan_mem((const char *)data, size, add_line, &fb, NULL);
	flame_folded_finish(&fb);
	int rc = folded_read_mem((const char *)data, size, &p, NULL);
	if (rc != frc)
		abort();
	if (rc) {
		flame_tree_release(&fast);
		return 0;
	}
	for (int reverse = 0; reverse < 2; reverse++) {
		struct flame_tree t;
		flame_tree_init(&t);
		struct flame_options o = {.reverse = reverse};
		flame_tree_build(&t, p, &o);
		struct flame_svg_options so = {.min_width = size & 1 ? 0 : 0.1, .width = 300, .icicle = reverse};
		flame_render_svg(sink, &t, &so);
		flame_render_folded(sink, &t);
		if (!reverse) {
			size_t la, lb;
			char *a = folded_of(&t, &la), *b = folded_of(&fast, &lb);
			if (la != lb || memcmp(a, b, la) || t.nodes.n != fast.nodes.n)
				abort();
			free(a);
			free(b);
		}
		flame_tree_release(&t);
	}
	check_packed(data, size, &fast);
	flame_tree_release(&fast);
	profile_free(p);
	return 0;
}
