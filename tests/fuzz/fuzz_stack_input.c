/* fuzz_stack_input.c - libFuzzer target for reading any stack input
 * (profile/stack_input: the format sniffer, the line splitter with its
 * limits, and the folded, perf script and streamed .kiln readers behind
 * them), from a memory file read a few bytes at a time. The first two
 * bytes pick the line limit and the read size, so lines straddle reads
 * and hit the limit. Folded input must give the same tree whether it goes
 * through a profile or straight into the tree. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "analysis/flame_tree.h"
#include "profile/stack_input.h"
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

/* A descriptor reading data from its start. */
static int memory_file(const uint8_t *data, size_t size)
{
	static int fd = -1;
	if (fd < 0 && (fd = memfd_create("fuzz", 0)) < 0)
		abort();
	if (ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size || lseek(fd, 0, SEEK_SET))
		abort();
	return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	struct stack_input_limits lim = {
	    .max_line_bytes = 1 + (uint64_t)data[0] * 64,
	    .read_size = 1 + data[1] % 97,
	    .max_input_bytes = data[0] & 1 ? size / 2 + 1 : 0,
	};
	data += 2;
	size -= 2;
	stack_format_sniff((const char *)data, size, true);

	struct profile *p = NULL;
	struct stack_input_info info;
	int rc = stack_input_read_fd(memory_file(data, size), &lim, NULL, NULL, &p, &info);
	struct flame_tree fast;
	flame_tree_init(&fast);
	struct flame_folded fb;
	flame_folded_init(&fb, &fast);
	struct profile *q = NULL;
	struct stack_input_info qinfo;
	int qrc = stack_input_read_fd(memory_file(data, size), &lim, add_line, &fb, &q, &qinfo);
	flame_folded_finish(&fb);
	if (rc != qrc || info.format != qinfo.format || info.records != qinfo.records)
		abort();
	if (!rc && info.format == STACK_FORMAT_FOLDED) {
		if (q)
			abort();
		struct flame_tree t;
		flame_tree_init(&t);
		struct flame_options o = {0};
		if (flame_tree_build(&t, p, &o) == 0) {
			size_t la, lb;
			char *a = folded_of(&t, &la), *b = folded_of(&fast, &lb);
			if (la != lb || memcmp(a, b, la))
				abort();
			free(a);
			free(b);
		}
		flame_tree_release(&t);
	}
	flame_tree_release(&fast);
	profile_free(p);
	profile_free(q);
	return 0;
}
