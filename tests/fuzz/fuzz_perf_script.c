/* fuzz_perf_script.c - libFuzzer target for the perf script reader
 * (perf_script_read_mem and its sniffer), followed by a flame chart (it
 * sorts by the parsed times) and folded output. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "analysis/flame_tree.h"
#include "profile/perf_script.h"
#include "render/flame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *sink;
	if (!sink)
		sink = fopen("/dev/null", "w");
	struct profile *p = NULL;
	perf_script_sniff((const char *)data, size, true);
	perf_script_sniff((const char *)data, size, false);
	if (perf_script_read_mem((const char *)data, size, &p, NULL))
		return 0;
	struct flame_tree t;
	flame_tree_init(&t);
	struct flame_options o = {.chart = size & 1};
	flame_tree_build(&t, p, &o);
	flame_render_folded(sink, &t);
	flame_tree_release(&t);
	profile_free(p);
	return 0;
}
