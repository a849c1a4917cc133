/* http_server.h - a small HTTP/1.1 server for kiln serve: one thread, one
 * poll(2) loop over the listening socket and every client, so a slow or
 * hostile client costs a slot and never blocks the others. Requests are
 * read with a size limit and a time limit; a malformed one gets its 4xx
 * and the connection is closed; the server itself never stops for a
 * client. Handlers may ask to be called again later (a profile of the
 * next N seconds) without holding up anything else.
 */
#ifndef KILN_CAPTURE_HTTP_SERVER_H
#define KILN_CAPTURE_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture/http_request.h"
#include "util/strbuf.h"

struct http_limits {
	size_t max_head;      /* bytes of a request head (431 beyond); 0: 8 KiB */
	uint64_t max_body;    /* bytes of a request body, read and ignored (413 beyond); 0: none allowed */
	uint64_t read_ms;     /* a request must arrive whole within this (408 after); 0: 5000 */
	uint64_t write_ms;    /* a response must be taken by the client within this; 0: 30000 */
	uint64_t idle_ms;     /* a kept-alive connection with no request closes after this; 0: 60000 */
	unsigned max_clients; /* connections at once; more are answered 503 and closed; 0: 64 */
};

/* What a handler answers. The server sends body as is, with its length. */
struct http_response {
	int status;                /* 200, 404, ... */
	const char *content_type;  /* NULL: text/plain; charset=utf-8 */
	const char *extra_headers; /* NULL, or whole header lines ("X: y\r\n") */
	struct strbuf body;
	/* Set by the handler to be called again for the same request after
	 * this many ms instead of answering now; the client waits, the
	 * others do not. */
	uint64_t again_ms;
};

/* Called for each whole request; again is true when the handler asked to
 * be called again for it (http_response.again_ms). Fills res (status 0 is
 * taken as 500). */
typedef void (*http_handler_fn)(void *ctx, const struct http_request *req, bool again, struct http_response *res);

struct http_server_stats {
	uint64_t connections; /* accepted */
	uint64_t requests;    /* answered by the handler */
	uint64_t rejected;    /* answered 4xx/5xx by the server itself (malformed, too large, too slow, full) */
	uint64_t timeouts;    /* closed for being too slow to send or take */
	uint64_t waiting;     /* now: requests the handler will answer later (a profile's seconds) */
};

struct http_server;

/* Listens on addr ("HOST:PORT", "[V6]:PORT"; PORT 0 picks a free one),
 * numeric hosts only. Returns 0, -EINVAL for an address that is not one,
 * or -errno from socket/bind/listen (-EADDRINUSE). */
int http_server_new(struct http_server **out, const char *addr, const struct http_limits *lim, http_handler_fn fn,
                    void *ctx);
void http_server_free(struct http_server *s);
/* The port it listens on (the one picked for PORT 0). */
int http_server_port(const struct http_server *s);
/* One round: waits up to timeout_ms (less when a client's deadline or a
 * handler's again_ms is sooner) for sockets to be ready, then accepts,
 * reads, answers and writes what it can without blocking. Returns 0, or
 * -errno when poll itself failed (EINTR is not a failure: 0). */
int http_server_poll(struct http_server *s, int timeout_ms);
void http_server_get_stats(const struct http_server *s, struct http_server_stats *st);
/* Clients connected now. */
size_t http_server_clients(const struct http_server *s);

/* Splits "HOST:PORT" / "[V6]:PORT" into host (size bytes) and *port.
 * Returns 0 or -EINVAL. */
int http_split_addr(const char *addr, char *host, size_t size, unsigned *port);

#endif
