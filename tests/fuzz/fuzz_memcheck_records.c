/* fuzz_memcheck_records.c - libFuzzer target: arbitrary memcheck ring
 * records (KH_REC_MEM_ERROR, KH_REC_MEM_STATS, KH_REC_MEM_LIVE, maps text;
 * agent/channel_format.h) through capture/memcheck_errors.c, the leak
 * scan's answer, the report kiln memcheck builds from them
 * (cmd/memcheck_feed.c, analysis/memcheck_report.c), its text and JSON,
 * and the report kept in a profile and read back (it must render the
 * same). The checked program writes its ring: none of this may crash,
 * read out of bounds or overflow whatever the bytes say.
 *
 * Input: a sequence of steps, each one byte of ring (low 2 bits) and kind
 * (the rest), then:
 *   kind 0: a record: its kh_rec_header and payload, the header's size
 *           (clamped to what is left) being the record's size, copied
 *           8-byte aligned as in the ring;
 *   kind 1: a ring header (sizeof(struct kh_ring_header) bytes);
 *   kind 2: the ring ends;
 *   kind 3: the leak scan: the ring's live blocks, classed by the next
 *           bytes (one per block, 0 when they run out).
 * Missing bytes read as zero.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/memcheck_profile.h"
#include "cmd/memcheck_feed.h"
#include "render/memcheck.h"
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

static void scan(const struct agent_channel_ops *ops, uint32_t ring, const uint8_t **p, size_t *left)
{
	struct kh_live_block *b = NULL;
	uint64_t n = 0;
	if (ops->live_blocks(ops->ctx, ring, &b, &n))
		return;
	uint8_t *cls = calloc(n + 1, 1);
	take(p, left, cls, n < 64 ? n : 64);
	ops->leak_classes(ops->ctx, ring, b, cls, n);
	free(cls);
	free(b);
}

/* Frames in the program are named by their offset, some inlined. */
static int resolve(void *ctx, const char *path, uint64_t offset, struct mc_sframe *out, int max)
{
	(void)ctx;
	(void)path;
	int n = (int)(offset % 3);
	if (n > max)
		n = max;
	for (int i = 0; i < n; i++) {
		out[i].function = i ? "outer" : "inner";
		out[i].file = offset & 4 ? "a.c" : NULL;
		out[i].line = (uint32_t)offset;
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct memcheck_errors *m = memcheck_errors_new();
	const struct agent_channel_ops *ops = memcheck_errors_ops(m);
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
			if (n < sizeof(hd))
				n = sizeof(hd);
			memcpy(rec, at, n);
			at += n;
			left -= n;
			/* the channel hands over whole records whose size is what it read */
			((struct kh_rec_header *)rec)->size = (uint32_t)n;
			ops->record(ops->ctx, ring, (const struct kh_rec_header *)rec);
			break;
		}
		case 1: {
			struct kh_ring_header rh;
			take(&at, &left, &rh, sizeof(rh));
			ops->ring_new(ops->ctx, ring, &rh);
			break;
		}
		case 2:
			ops->ring_end(ops->ctx, ring, NULL, true);
			break;
		case 3:
			scan(ops, ring, &at, &left);
			break;
		default:
			break;
		}
	}
	struct mc_report *r = mc_report_new();
	struct mc_counts c = memcheck_feed(r, m);
	mc_report_finish(r, NULL, &c, resolve, NULL);
	r->show_leaks = 0x1e;
	r->error_leaks = 0x10;
	r->exitcode = 99;
	struct mc_render_opts o = {.show_leaks = r->show_leaks, .error_leaks = r->error_leaks, .exitcode = 99};
	struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
	mc_render_text(&a, r, &o);
	mc_render_json(&a, r, &o);
	struct profile *p = profile_new();
	mc_report_to_profile(r, p);
	struct mc_report *back = NULL;
	if (mc_report_from_profile(p, &back))
		abort(); /* what kiln wrote it must read */
	mc_render_text(&b, back, &o);
	mc_render_json(&b, back, &o);
	if (strcmp(strbuf_str(&a), strbuf_str(&b)))
		abort(); /* the report of the profile is the report */
	strbuf_release(&a);
	strbuf_release(&b);
	mc_report_free(back);
	profile_free(p);
	mc_report_free(r);
	memcheck_errors_free(m);
	return 0;
}
