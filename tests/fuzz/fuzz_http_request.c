/* fuzz_http_request.c - libFuzzer target for kiln serve's request head
 * decoder (capture/http_request): anyone who reaches the port sends these
 * bytes. The first byte picks the head limit; the head is also parsed at
 * every shorter length, which must never be an error when the whole is a
 * request (bytes arrive a few at a time), and the query is searched. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "capture/http_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t max_head = 16 + (size_t)data[0] * 32;
	const char *buf = (const char *)data + 1;
	size_t len = size - 1;
	struct http_request req;
	int rc = http_request_parse(buf, len, max_head, 16, &req);
	if (rc < HTTP_ERR_VERSION || rc > 1)
		abort();
	if (rc == 1) {
		bool bad_path = req.path[0] != '/' && req.path[0] != '*';
		if (req.head_bytes > len || req.head_bytes > max_head || !req.method[0] || bad_path)
			abort();
		if (strlen(req.path) >= sizeof(req.path) || strlen(req.query) >= sizeof(req.query))
			abort();
		struct http_request again;
		for (size_t n = 0; n < req.head_bytes; n += 1 + n / 8)
			if (http_request_parse(buf, n, max_head, 16, &again) < 0)
				abort(); /* a prefix of a good head is only incomplete */
		char v[64];
		http_query_get(req.query, "seconds", v, sizeof(v));
		http_query_get(req.query, "", v, 1);
	}
	return 0;
}
