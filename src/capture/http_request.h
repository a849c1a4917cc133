/* http_request.h - decodes an HTTP/1.x request head from bytes a client
 * sent (kiln serve's requests): the request line, the headers kiln needs
 * (Connection, Content-Length, Transfer-Encoding) and the end of the head.
 * Incremental: call again with more bytes until it says the head is whole.
 * Allocation-free; everything it keeps is copied into the request, cut to
 * the sizes below (a longer target is refused, never cut).
 */
#ifndef KILN_CAPTURE_HTTP_REQUEST_H
#define KILN_CAPTURE_HTTP_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_METHOD_MAX 16
#define HTTP_TARGET_MAX 1024

struct http_request {
	char method[HTTP_METHOD_MAX];
	char path[HTTP_TARGET_MAX];  /* the target before '?', as sent (not percent-decoded) */
	char query[HTTP_TARGET_MAX]; /* after '?', "" when none */
	int minor;                   /* HTTP/1.<minor> */
	bool keep_alive;             /* the connection may carry another request */
	uint64_t content_length;     /* body bytes after the head */
	size_t head_bytes;           /* bytes of the head, its blank line included */
};

/* Results of http_request_parse() besides 0 (need more bytes) and 1 (the
 * head is whole): what the server answers. */
enum http_parse_error {
	HTTP_ERR_MALFORMED = -1, /* 400 Bad Request */
	HTTP_ERR_TOO_LARGE = -2, /* 431: the head is longer than max_head */
	HTTP_ERR_BODY = -3,      /* 413: a body longer than the limit, or chunked */
	HTTP_ERR_VERSION = -4,   /* 505: not HTTP/1.0 or 1.1 */
};

/* Parses the head at buf (len bytes received so far), at most max_head
 * bytes long, with a body of at most max_body bytes. Returns 1 with *req
 * filled when the head is whole, 0 when more bytes are needed, or an enum
 * http_parse_error. Bare LF line ends are accepted as well as CRLF;
 * obsolete folded header lines are refused (RFC 9112 5.2). */
int http_request_parse(const char *buf, size_t len, size_t max_head, uint64_t max_body, struct http_request *req);

/* The value of parameter name in query (a=1&b=2), percent-decoded into
 * out (size bytes). Returns 1 when present and it fits, 0 when absent,
 * -1 when it does not fit or is badly encoded. */
int http_query_get(const char *query, const char *name, char *out, size_t size);

/* The status line text of code ("Not Found"); "" for codes kiln never sends. */
const char *http_status_text(int code);

#endif
