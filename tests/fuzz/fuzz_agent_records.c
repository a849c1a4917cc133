/* fuzz_agent_records.c - libFuzzer target: arbitrary agent ring records
 * (agent/channel_format.h) through the decoder (capture/agent_decode.h)
 * into a heap analysis, wired as `kiln heap` wires them, then the analysis
 * finished, grouped and rendered. The profiled program writes its ring,
 * so none of this may crash, read out of bounds or overflow whatever the
 * bytes say.
 *
 * Input: a sequence of steps, each one byte of ring (low 2 bits) and kind
 * (the rest), then:
 *   kind 0: a record: its kh_rec_header and payload, the header's size
 *           (clamped to what is left) being the record's size, as the
 *           channel's reader hands it over (copied 8-byte aligned, as in
 *           the ring);
 *   kind 1: a ring header (sizeof(struct kh_ring_header) bytes);
 *   kind 2: the ring ends: u8 clean, then a struct kh_pending;
 *   kind 3: the leak scan: the ring's live blocks, classed by the next
 *           bytes (one per block, 0 when they run out).
 * Missing bytes read as zero.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/heap_feed.h"
#include "render/heap.h"
#include "util/strbuf.h"

#define RINGS 4

static size_t take(const uint8_t **p, size_t *left, void *dst, size_t n)
{
	size_t k = n < *left ? n : *left;
	memset(dst, 0, n);
	memcpy(dst, *p, k);
	*p += k;
	*left -= k;
	return k;
}

static struct profile *heap_profile(void)
{
	struct profile *p = profile_new();
	static const char *const names[HEAP_NVALUES] = {"alloc_space",  "alloc_objects",  "peak_space",
	                                                "leaked_space", "leaked_objects", "temporary_objects"};
	for (int i = 0; i < HEAP_NVALUES; i++)
		profile_add_value_type(p, names[i], "bytes");
	profile_set_meta(p, "event", "heap");
	return p;
}

static void scan(struct heap_analysis *h, uint32_t ring, const uint8_t **p, size_t *left)
{
	struct heap_block *b = NULL;
	uint64_t n = 0;
	if (heap_live_blocks(h, ring, &b, &n))
		return;
	uint8_t *cls = calloc(n + 1, 1);
	take(p, left, cls, n < 64 ? n : 64);
	heap_on_classes(h, ring, b, cls, n);
	free(cls);
	free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct profile *p = heap_profile();
	struct heap_analysis *h = heap_new(p);
	bool ended[RINGS] = {false};
	static uint64_t rec[(1u << 16) / 8];
	const uint8_t *at = data;
	size_t left = size;
	while (left) {
		uint8_t step;
		take(&at, &left, &step, 1);
		uint32_t ring = step & (RINGS - 1);
		switch (step >> 2) {
		case 0: {
			struct kh_rec_header hd;
			if (left < sizeof(hd)) {
				left = 0;
				break;
			}
			memcpy(&hd, at, sizeof(hd));
			size_t n = hd.size < left ? hd.size : left;
			if (n > sizeof(rec))
				n = sizeof(rec);
			memcpy(rec, at, n);
			at += n;
			left -= n;
			agent_decode_record(feed_decoder(h), ring, rec, n);
			break;
		}
		case 1: {
			struct kh_ring_header rh;
			take(&at, &left, &rh, sizeof(rh));
			feed_ring(h, ring, &rh);
			ended[ring] = false;
			break;
		}
		case 2: {
			uint8_t clean;
			static struct kh_pending pending;
			take(&at, &left, &clean, 1);
			take(&at, &left, &pending, sizeof(pending));
			if (!ended[ring]) {
				feed_pending(h, ring, &pending);
				heap_on_ring_end(h, ring, clean & 1);
				ended[ring] = true;
			}
			break;
		}
		case 3:
			if (!ended[ring])
				scan(h, ring, &at, &left);
			break;
		default:
			break;
		}
	}
	for (uint32_t r = 0; r < RINGS; r++)
		if (!ended[r])
			feed_end(h, r, false);
	heap_finish(h);
	heap_save_series(h);
	profile_name_unsymbolized(p);
	heap_group(h);
	struct strbuf out = STRBUF_INIT;
	struct heap_render_opts o = {.top = 5, .command = "fuzz"};
	heap_render_text(&out, h, &o);
	heap_render_json(&out, h, &o);
	heap_render_chart(&out, h, &o);
	strbuf_release(&out);
	feed_done();
	heap_free(h);
	profile_free(p);
	return 0;
}
