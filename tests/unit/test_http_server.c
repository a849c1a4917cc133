/* test_http_server.c - kiln serve's HTTP server (capture/http_server) on a
 * loopback port, driven from this one thread: answers, refusals that leave
 * the server serving, a slow client that holds up nobody, pipelining,
 * handlers called again later, the client limit. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "capture/http_server.h"

static int calls;

static void handler(void *ctx, const struct http_request *req, bool again, struct http_response *res)
{
	(void)ctx;
	calls++;
	if (!strcmp(req->path, "/later") && !again) {
		res->again_ms = 1;
		return;
	}
	if (!strcmp(req->path, "/missing")) {
		res->status = 404;
		strbuf_addstr(&res->body, "nope");
		return;
	}
	res->status = 200;
	strbuf_addf(&res->body, "path=%s again=%d", req->path, again);
}

static struct http_server *start(const struct http_limits *lim)
{
	struct http_server *s;
	assert_int_equal(http_server_new(&s, "127.0.0.1:0", lim, handler, NULL), 0);
	assert_true(http_server_port(s) > 0);
	return s;
}

static int connect_to(struct http_server *s)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)http_server_port(s))};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static void send_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t k = send(fd, s, n, MSG_NOSIGNAL);
		assert_true(k > 0);
		s += k;
		n -= (size_t)k;
	}
}

/* Runs the server until `want` responses (or the close) arrived on fd;
 * the bytes read, malloc'ed. The loop is bounded by rounds, not time. */
static bool closed; /* collect() saw the server close the connection */

static char *collect(struct http_server *s, int fd, int want)
{
	struct strbuf in = STRBUF_INIT;
	closed = false;
	for (int round = 0; round < 400; round++) {
		assert_int_equal(http_server_poll(s, 20), 0);
		char buf[4096];
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0)
			strbuf_add(&in, buf, (size_t)n);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
			closed = true;
			break;
		}
		int got = 0;
		for (const char *p = strbuf_str(&in); (p = strstr(p, "HTTP/1.1 ")); p++)
			got++;
		if (want && got >= want && in.len && strbuf_str(&in)[in.len - 1] != '\n' &&
		    strstr(strbuf_str(&in), "\r\n\r\n"))
			break;
	}
	return strbuf_detach(&in);
}

static void test_answers(void **state)
{
	(void)state;
	struct http_server *s = start(&(struct http_limits){0});
	int fd = connect_to(s);
	const char *req = "GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\n\r\n";
	send_all(fd, req, strlen(req));
	char *out = collect(s, fd, 1);
	assert_non_null(strstr(out, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(out, "Content-Length: 21\r\n"));
	assert_non_null(strstr(out, "path=/metrics again=0"));
	free(out);
	/* kept alive: a second request on the same connection, then a 404 */
	req = "GET /missing HTTP/1.1\r\nConnection: close\r\n\r\n";
	send_all(fd, req, strlen(req));
	out = collect(s, fd, 0);
	assert_non_null(strstr(out, "HTTP/1.1 404 Not Found\r\n"));
	assert_non_null(strstr(out, "Connection: close"));
	free(out);
	close(fd);
	http_server_free(s);
}

static void test_refusals_keep_serving(void **state)
{
	(void)state;
	struct http_server *s = start(&(struct http_limits){0});
	struct {
		const char *req;
		const char *status;
	} cases[] = {
	    {"BLAH\r\n\r\n", "HTTP/1.1 400 "},
	    {"GET / HTTP/3.0\r\n\r\n", "HTTP/1.1 505 "},
	    {"POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\n", "HTTP/1.1 413 "},
	    {"DELETE / HTTP/1.1\r\n\r\n", "HTTP/1.1 405 "},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int fd = connect_to(s);
		send_all(fd, cases[i].req, strlen(cases[i].req));
		char *out = collect(s, fd, 0);
		if (strncmp(out, cases[i].status, strlen(cases[i].status)))
			fail_msg("'%s' got '%.40s'", cases[i].req, out);
		if (!closed) /* a refusal ends the connection */
			fail_msg("'%s': the connection stayed open", cases[i].req);
		free(out);
		close(fd);
	}
	/* a head larger than the limit */
	int fd = connect_to(s);
	char big[10000];
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	send_all(fd, big, sizeof(big));
	char *out = collect(s, fd, 0);
	assert_memory_equal(out, "HTTP/1.1 431 ", 13);
	free(out);
	close(fd);
	/* and still serving */
	fd = connect_to(s);
	send_all(fd, "GET /ok HTTP/1.0\r\n\r\n", 20);
	out = collect(s, fd, 0);
	assert_non_null(strstr(out, "path=/ok"));
	free(out);
	close(fd);
	struct http_server_stats st;
	http_server_get_stats(s, &st);
	assert_int_equal(st.rejected, 5);
	http_server_free(s);
}

static void test_slow_client(void **state)
{
	(void)state;
	/* long enough that the whole request the fast client sent at once is
	 * read in time on a loaded machine (1 ms once gave it a 408 too);
	 * the server's own timer ends the slow one, no sleep here */
	struct http_server *s = start(&(struct http_limits){.read_ms = 500});
	int slow = connect_to(s);
	send_all(slow, "GET /slow HTTP/1.1\r\nHo", 22);
	int fast = connect_to(s);
	send_all(fast, "GET /fast HTTP/1.0\r\n\r\n", 22);
	char *out = collect(s, fast, 0);
	assert_non_null(strstr(out, "path=/fast"));
	free(out);
	/* the slow one runs out of time: 408, closed */
	out = collect(s, slow, 0);
	assert_memory_equal(out, "HTTP/1.1 408 ", 13);
	free(out);
	close(slow);
	close(fast);
	http_server_free(s);
}

static void test_pipelined_and_again(void **state)
{
	(void)state;
	struct http_server *s = start(&(struct http_limits){0});
	int fd = connect_to(s);
	const char *req =
	    "GET /a HTTP/1.1\r\n\r\nGET /later HTTP/1.1\r\n\r\nGET /c HTTP/1.1\r\nConnection: close\r\n\r\n";
	send_all(fd, req, strlen(req));
	char *out = collect(s, fd, 0);
	const char *a = strstr(out, "path=/a again=0");
	const char *b = strstr(out, "path=/later again=1");
	const char *c = strstr(out, "path=/c again=0");
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	assert_true(a < b && b < c); /* in order */
	free(out);
	close(fd);
	http_server_free(s);
}

static void test_full(void **state)
{
	(void)state;
	struct http_server *s = start(&(struct http_limits){.max_clients = 2});
	int a = connect_to(s), b = connect_to(s);
	assert_int_equal(http_server_poll(s, 20), 0);
	int c = connect_to(s);
	char *out = collect(s, c, 0);
	assert_memory_equal(out, "HTTP/1.1 503 ", 13);
	free(out);
	assert_int_equal(http_server_clients(s), 2);
	close(a);
	close(b);
	close(c);
	http_server_free(s);
}

static void test_addresses(void **state)
{
	(void)state;
	char host[64];
	unsigned port;
	assert_int_equal(http_split_addr("127.0.0.1:6060", host, sizeof(host), &port), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 6060);
	assert_int_equal(http_split_addr("[::1]:80", host, sizeof(host), &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(http_split_addr("::1:80", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(http_split_addr("localhost", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(http_split_addr("1.2.3.4:65536", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(http_split_addr(":80", host, sizeof(host), &port), -EINVAL);
	struct http_server *s;
	assert_int_equal(http_server_new(&s, "localhost:0", &(struct http_limits){0}, handler, NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_answers),     cmocka_unit_test(test_refusals_keep_serving),
	    cmocka_unit_test(test_slow_client), cmocka_unit_test(test_pipelined_and_again),
	    cmocka_unit_test(test_full),        cmocka_unit_test(test_addresses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
