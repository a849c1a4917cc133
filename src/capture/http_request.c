/* http_request.c - the HTTP/1.x request head decoder (http_request.h). The
 * bytes come from anyone who can reach the port: every length is checked
 * before a copy, and anything outside RFC 9112's grammar is refused. */
#include "capture/http_request.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/num.h"

/* RFC 9110 5.6.2 token characters */
static bool is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* A request target's characters: visible ASCII, no space or control. */
static bool is_target_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f;
}

/* The end of the line starting at s (before end): the '\n', or NULL. */
static const char *line_end(const char *s, const char *end)
{
	return memchr(s, '\n', (size_t)(end - s));
}

/* The line [s, nl) without its '\r'; its length. */
static size_t line_len(const char *s, const char *nl)
{
	size_t n = (size_t)(nl - s);
	return n && s[n - 1] == '\r' ? n - 1 : n;
}

static int parse_request_line(const char *s, size_t n, struct http_request *req)
{
	size_t i = 0, m = 0;
	while (i < n && is_tchar((unsigned char)s[i])) {
		if (m + 1 >= sizeof(req->method))
			return HTTP_ERR_MALFORMED;
		req->method[m++] = s[i++];
	}
	req->method[m] = '\0';
	if (!m || i >= n || s[i] != ' ')
		return HTTP_ERR_MALFORMED;
	i++;
	size_t t = i;
	while (i < n && is_target_char((unsigned char)s[i]))
		i++;
	size_t tlen = i - t;
	if (!tlen || i >= n || s[i] != ' ')
		return HTTP_ERR_MALFORMED;
	if (s[t] != '/' && !(tlen == 1 && s[t] == '*'))
		return HTTP_ERR_MALFORMED; /* origin-form only: kiln is no proxy */
	const char *q = memchr(s + t, '?', tlen);
	size_t plen = q ? (size_t)(q - (s + t)) : tlen;
	size_t qlen = q ? tlen - plen - 1 : 0;
	if (plen >= sizeof(req->path) || qlen >= sizeof(req->query))
		return HTTP_ERR_MALFORMED;
	memcpy(req->path, s + t, plen);
	req->path[plen] = '\0';
	if (q)
		memcpy(req->query, q + 1, qlen);
	req->query[qlen] = '\0';
	i++;
	if (n - i != 8 || memcmp(s + i, "HTTP/", 5) || s[i + 6] != '.')
		return HTTP_ERR_MALFORMED;
	char major = s[i + 5], minor = s[i + 7];
	if (major < '0' || major > '9' || minor < '0' || minor > '9')
		return HTTP_ERR_MALFORMED;
	if (major != '1' || minor > '1')
		return HTTP_ERR_VERSION;
	req->minor = minor - '0';
	req->keep_alive = req->minor == 1;
	return 0;
}

/* Whether the comma list v (vlen bytes) holds token tok, any case. */
static bool list_has(const char *v, size_t vlen, const char *tok)
{
	size_t tl = strlen(tok), i = 0;
	while (i < vlen) {
		while (i < vlen && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		size_t st = i;
		while (i < vlen && v[i] != ',')
			i++;
		size_t e = i;
		while (e > st && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e - st == tl && !strncasecmp(v + st, tok, tl))
			return true;
	}
	return false;
}

static int parse_header(const char *s, size_t n, uint64_t max_body, bool *seen_length, struct http_request *req)
{
	if (!n)
		return HTTP_ERR_MALFORMED;
	if (s[0] == ' ' || s[0] == '\t')
		return HTTP_ERR_MALFORMED; /* obsolete line folding */
	size_t i = 0;
	while (i < n && is_tchar((unsigned char)s[i]))
		i++;
	if (!i || i >= n || s[i] != ':')
		return HTTP_ERR_MALFORMED; /* no name, or space before the colon */
	size_t name_len = i++;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	const char *v = s + i;
	size_t vlen = n - i;
	while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
	for (size_t k = 0; k < vlen; k++)
		if ((unsigned char)v[k] < 0x20 && v[k] != '\t')
			return HTTP_ERR_MALFORMED;
	if (name_len == 14 && !strncasecmp(s, "content-length", 14)) {
		uint64_t len = 0;
		const char *digits_end = num_scan_u64(v, v + vlen, 10, &len);
		/* digits past 64 bits are a body too large; anything else is no length */
		if (!digits_end && vlen && v[0] >= '0' && v[0] <= '9')
			return HTTP_ERR_BODY;
		if (digits_end != v + vlen)
			return HTTP_ERR_MALFORMED;
		/* two different lengths are how requests are smuggled */
		if (*seen_length && len != req->content_length)
			return HTTP_ERR_MALFORMED;
		*seen_length = true;
		req->content_length = len;
		if (len > max_body)
			return HTTP_ERR_BODY;
	} else if (name_len == 17 && !strncasecmp(s, "transfer-encoding", 17)) {
		return HTTP_ERR_BODY; /* kiln's requests have no chunked bodies */
	} else if (name_len == 10 && !strncasecmp(s, "connection", 10)) {
		if (list_has(v, vlen, "close"))
			req->keep_alive = false;
		else if (list_has(v, vlen, "keep-alive"))
			req->keep_alive = true;
	}
	return 0;
}

int http_request_parse(const char *buf, size_t len, size_t max_head, uint64_t max_body, struct http_request *req)
{
	memset(req, 0, sizeof(*req));
	size_t avail = len < max_head ? len : max_head;
	const char *s = buf, *end = buf + avail;
	/* RFC 9112 2.2: empty lines before the request line are ignored */
	while (s < end && (*s == '\r' || *s == '\n'))
		s++;
	const char *nl = line_end(s, end);
	if (!nl)
		return len >= max_head ? HTTP_ERR_TOO_LARGE : 0;
	int rc = parse_request_line(s, line_len(s, nl), req);
	if (rc)
		return rc;
	bool seen_length = false;
	for (s = nl + 1;; s = nl + 1) {
		nl = line_end(s, end);
		if (!nl)
			return len >= max_head ? HTTP_ERR_TOO_LARGE : 0;
		size_t n = line_len(s, nl);
		if (n == 0 && (nl == s || nl == s + 1))
			break;
		rc = parse_header(s, n, max_body, &seen_length, req);
		if (rc)
			return rc;
	}
	req->head_bytes = (size_t)(nl + 1 - buf);
	return 1;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int http_query_get(const char *query, const char *name, char *out, size_t size)
{
	size_t nl = strlen(name);
	for (const char *p = query; p && *p;) {
		const char *amp = strchr(p, '&');
		size_t plen = amp ? (size_t)(amp - p) : strlen(p);
		if (plen >= nl && !strncmp(p, name, nl) && (plen == nl || p[nl] == '=')) {
			const char *v = plen == nl ? p + nl : p + nl + 1;
			const char *ve = p + plen;
			size_t o = 0;
			while (v < ve) {
				char c = *v++;
				if (c == '+') {
					c = ' ';
				} else if (c == '%') {
					if (ve - v < 2 || hex_value(v[0]) < 0 || hex_value(v[1]) < 0)
						return -1;
					c = (char)(hex_value(v[0]) * 16 + hex_value(v[1]));
					v += 2;
				}
				if (o + 1 >= size)
					return -1;
				out[o++] = c;
			}
			if (!size)
				return -1;
			out[o] = '\0';
			return 1;
		}
		p = amp ? amp + 1 : NULL;
	}
	return 0;
}

const char *http_status_text(int code)
{
	switch (code) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 413:
		return "Content Too Large";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	}
	return "";
}
