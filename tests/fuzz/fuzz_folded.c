/* fuzz_folded.c - libFuzzer target for the folded stacks reader
 * (folded_read_mem), followed by the flame tree and both renderers, so
 * hostile names also exercise the SVG escaping and truncation. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "analysis/flame_tree.h"
#include "profile/folded_read.h"
#include "render/flame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *sink;
	if (!sink)
		sink = fopen("/dev/null", "w");
	struct profile *p = NULL;
	folded_sniff((const char *)data, size);
	if (folded_read_mem((const char *)data, size, &p, NULL))
		return 0;
	for (int reverse = 0; reverse < 2; reverse++) {
		struct flame_tree t;
		flame_tree_init(&t);
		struct flame_options o = {.reverse = reverse};
		flame_tree_build(&t, p, &o);
		struct flame_svg_options so = {.min_width = size & 1 ? 0 : 0.1, .width = 300, .icicle = reverse};
		flame_render_svg(sink, &t, &so);
		flame_render_folded(sink, &t);
		flame_tree_release(&t);
	}
	profile_free(p);
	return 0;
}
