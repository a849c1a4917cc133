/* fuzz_pprof.c - libFuzzer target for the pprof reader
 * (capture/pprof_read.c: gzip, the protobuf walk, ids, string indexes,
 * labels) and the writer behind kiln export: whatever the reader accepts,
 * kiln's own pprof of it must read back, with the same value types and
 * the same value totals. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "capture/pprof_read.h"
#include "render/pprof.h"
#include "util/strbuf.h"

static void totals(const struct profile *p, uint64_t *sum)
{
	memset(sum, 0, PROFILE_MAX_VALUES * sizeof(*sum));
	for (size_t i = 0; i < p->samples.n; i++)
		for (size_t v = 0; v < p->value_types.n; v++)
			sum[v] += (uint64_t)p->samples.v[i].values[v];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct profile *p = NULL, *back = NULL;
	struct pprof_read_info info;
	pprof_sniff(data, size);
	/* a small cap: a gzip bomb must stop at it, not exhaust memory */
	if (pprof_read_mem(data, size, 1 << 24, &p, &info))
		return 0;
	profile_name_unsymbolized(p);
	struct strbuf sb = STRBUF_INIT;
	if (pprof_write(p, &sb))
		abort();
	if (pprof_read_mem(sb.buf, sb.len, 1 << 28, &back, &info))
		abort(); /* kiln cannot read what it wrote */
	uint64_t a[PROFILE_MAX_VALUES], b[PROFILE_MAX_VALUES];
	totals(p, a);
	totals(back, b);
	if (p->value_types.n != back->value_types.n || memcmp(a, b, sizeof(a)))
		abort();
	strbuf_release(&sb);
	profile_free(back);
	profile_free(p);
	return 0;
}
