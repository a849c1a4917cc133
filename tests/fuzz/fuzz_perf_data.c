/* fuzz_perf_data.c - libFuzzer target for the perf.data reader
 * (perf_data_read_mem): header, attrs, feature sections and every record
 * type it rewrites for the recorder's sample path and unwinder. */
#include <stddef.h>
#include <stdint.h>

#include "capture/perf_data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct profile *p = NULL;
	struct perf_data_info info;
	perf_data_sniff(data, size);
	if (perf_data_read_mem(data, size, &p, &info) == 0)
		profile_free(p);
	return 0;
}
