/* test_http_request.c - the HTTP request head decoder (capture/http_request):
 * whole and partial heads, every refusal, query parameters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "capture/http_request.h"

static int parse(const char *s, struct http_request *r)
{
	return http_request_parse(s, strlen(s), 8192, 0, r);
}

static void test_whole_get(void **state)
{
	(void)state;
	struct http_request r;
	const char *s = "GET /debug/pprof/profile?seconds=2 HTTP/1.1\r\nHost: 127.0.0.1:6060\r\n"
	                "User-Agent: Go-http-client/1.1\r\nAccept-Encoding: gzip\r\n\r\nNEXT";
	assert_int_equal(parse(s, &r), 1);
	assert_string_equal(r.method, "GET");
	assert_string_equal(r.path, "/debug/pprof/profile");
	assert_string_equal(r.query, "seconds=2");
	assert_int_equal(r.minor, 1);
	assert_true(r.keep_alive);
	assert_int_equal(r.head_bytes, strlen(s) - 4); /* the pipelined bytes after it are not its */
}

static void test_bare_lf_and_http10(void **state)
{
	(void)state;
	struct http_request r;
	assert_int_equal(parse("GET / HTTP/1.0\nHost: x\n\n", &r), 1);
	assert_int_equal(r.minor, 0);
	assert_false(r.keep_alive);
	assert_int_equal(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &r), 1);
	assert_true(r.keep_alive);
	assert_int_equal(parse("GET / HTTP/1.1\r\nConnection: foo, close\r\n\r\n", &r), 1);
	assert_false(r.keep_alive);
	/* blank lines before the request line are allowed (RFC 9112 2.2) */
	assert_int_equal(parse("\r\nGET /metrics HTTP/1.1\r\n\r\n", &r), 1);
	assert_string_equal(r.path, "/metrics");
}

static void test_partial(void **state)
{
	(void)state;
	struct http_request r;
	const char *s = "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n";
	/* every prefix is incomplete, never an error */
	for (size_t n = 0; n < strlen(s); n++)
		assert_int_equal(http_request_parse(s, n, 8192, 0, &r), 0);
	assert_int_equal(http_request_parse(s, strlen(s), 8192, 0, &r), 1);
}

static void test_malformed(void **state)
{
	(void)state;
	struct http_request r;
	const char *bad[] = {
	    "GARBAGE\r\n\r\n",
	    "GET\r\n\r\n",
	    "GET / \r\n\r\n",
	    "GET  / HTTP/1.1\r\n\r\n",
	    "GET / HTTP/1.1 \r\n\r\n",
	    "GET / HTTX/1.1\r\n\r\n",
	    "GET http://example.com/ HTTP/1.1\r\n\r\n", /* absolute form: kiln is no proxy */
	    "GET /a\x01 HTTP/1.1\r\n\r\n",
	    "G(T / HTTP/1.1\r\n\r\n",
	    "GET / HTTP/1.1\r\nNoColon\r\n\r\n",
	    "GET / HTTP/1.1\r\nName : v\r\n\r\n",
	    "GET / HTTP/1.1\r\n: v\r\n\r\n",
	    "GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n",
	    "GET / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n",
	    "GET / HTTP/1.1\r\nContent-Length: \r\n\r\n",
	    "GET / HTTP/1.1\r\nContent-Length: +1\r\n\r\n",
	    "GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
	    "GET / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n",
	    "GET / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n",
	    "GET / HTTP/1.1\r\nContent-Length: 1,1\r\n\r\n",
	    "GET / HTTP/1.1\r\nContent-Length: x99999999999999999999999\r\n\r\n",
	    "GET / HTTP/1.1\r\nA: b\x01c\r\n\r\n",
	    "VERYLONGMETHODNAME / HTTP/1.1\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = parse(bad[i], &r);
		if (rc != HTTP_ERR_MALFORMED)
			fail_msg("'%s' gave %d, not HTTP_ERR_MALFORMED", bad[i], rc);
	}
	/* two different lengths: how requests are smuggled */
	assert_int_equal(
	    http_request_parse("GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 56, 8192, 10, &r),
	    HTTP_ERR_MALFORMED);
}

static void test_limits(void **state)
{
	(void)state;
	struct http_request r;
	char big[9000];
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	/* a head that does not end within max_head */
	assert_int_equal(http_request_parse(big, sizeof(big), 8192, 0, &r), HTTP_ERR_TOO_LARGE);
	assert_int_equal(http_request_parse(big, 100, 8192, 0, &r), 0);
	/* a long target is refused, never cut */
	char target[HTTP_TARGET_MAX + 64];
	snprintf(target, sizeof(target), "GET /%0*d HTTP/1.1\r\n\r\n", HTTP_TARGET_MAX, 0);
	assert_int_equal(parse(target, &r), HTTP_ERR_MALFORMED);
	assert_int_equal(parse("GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\n", &r), HTTP_ERR_BODY);
	assert_int_equal(http_request_parse("GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\n", 37, 8192, 5, &r), 1);
	assert_int_equal(r.content_length, 5);
	assert_int_equal(parse("GET / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", &r), HTTP_ERR_BODY);
	/* past 64 bits by one, refused as too large (never wrapped to a small length) */
	assert_int_equal(parse("GET / HTTP/1.1\r\nContent-Length: 18446744073709551616\r\n\r\n", &r), HTTP_ERR_BODY);
	assert_int_equal(parse("GET / HTTP/1.1\r\nContent-Length: 18446744073709551621\r\n\r\n", &r), HTTP_ERR_BODY);
	assert_int_equal(parse("GET / HTTP/1.1\r\nContent-Length: 99999999999999999999x\r\n\r\n", &r), HTTP_ERR_BODY);
	/* leading zeros and blanks around the value */
	assert_int_equal(http_request_parse("GET / HTTP/1.1\r\nContent-Length: \t0005 \r\n\r\n", 42, 8192, 5, &r), 1);
	assert_int_equal(r.content_length, 5);
	assert_int_equal(parse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", &r), HTTP_ERR_BODY);
	assert_int_equal(parse("GET / HTTP/2.0\r\n\r\n", &r), HTTP_ERR_VERSION);
	assert_int_equal(parse("GET / HTTP/1.2\r\n\r\n", &r), HTTP_ERR_VERSION);
}

static void test_query(void **state)
{
	(void)state;
	char v[16];
	assert_int_equal(http_query_get("seconds=2", "seconds", v, sizeof(v)), 1);
	assert_string_equal(v, "2");
	assert_int_equal(http_query_get("a=1&seconds=30&b", "seconds", v, sizeof(v)), 1);
	assert_string_equal(v, "30");
	assert_int_equal(http_query_get("secondsx=3", "seconds", v, sizeof(v)), 0);
	assert_int_equal(http_query_get("", "seconds", v, sizeof(v)), 0);
	assert_int_equal(http_query_get("b&a", "a", v, sizeof(v)), 1);
	assert_string_equal(v, "");
	assert_int_equal(http_query_get("a=%41%2f+b", "a", v, sizeof(v)), 1);
	assert_string_equal(v, "A/ b");
	assert_int_equal(http_query_get("a=%4", "a", v, sizeof(v)), -1);
	assert_int_equal(http_query_get("a=%zz", "a", v, sizeof(v)), -1);
	assert_int_equal(http_query_get("a=0123456789abcdefXYZ", "a", v, sizeof(v)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_whole_get), cmocka_unit_test(test_bare_lf_and_http10),
	    cmocka_unit_test(test_partial),   cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_limits),    cmocka_unit_test(test_query),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
