/* http_server.c - kiln serve's HTTP/1.1 server (http_server.h): one poll
 * loop, non-blocking sockets, a fixed head buffer per client, deadlines
 * for reading and writing. Every way a client can misbehave ends with
 * that client closed, never with the server stopped. */
#include "capture/http_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "util/xalloc.h"

enum client_state {
	CLIENT_READ,   /* reading a request head */
	CLIENT_BODY,   /* skipping the body of a request already understood */
	CLIENT_WAIT,   /* the handler asked to be called again later */
	CLIENT_WRITE,  /* sending the response */
	CLIENT_LINGER, /* answered and shut for writing: reading what the client still sends, then closing */
};

/* A client's bytes read after its last answer, before the close: closing
 * with unread bytes makes the kernel send a reset, which can destroy the
 * answer (a 431 to a huge head) before the client reads it. */
#define LINGER_MS    1000
#define LINGER_BYTES (1u << 20)

struct http_client {
	int fd;
	enum client_state state;
	char *in; /* max_head bytes */
	size_t in_len;
	uint64_t deadline; /* ms: read, write or idle limit; the call again time in CLIENT_WAIT */
	struct http_request req;
	uint64_t body_left; /* CLIENT_BODY: body bytes to skip; CLIENT_LINGER: bytes it may still send */
	struct strbuf out;
	size_t out_off;
	bool close_after; /* close once the response is sent */
	bool head_only;   /* HEAD: the headers without the body */
};

struct http_server {
	int fd;
	int port;
	struct http_limits lim;
	http_handler_fn fn;
	void *ctx;
	struct http_client *clients; /* lim.max_clients slots; fd -1 when free */
	size_t nclients;
	struct pollfd *pfds;
	unsigned *pfd_client; /* the client slot of each pfds entry after the first */
	struct http_server_stats st;
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int http_split_addr(const char *addr, char *host, size_t size, unsigned *port)
{
	const char *colon, *h = addr;
	size_t hlen;
	if (addr[0] == '[') {
		const char *close = strchr(addr, ']');
		if (!close || close[1] != ':')
			return -EINVAL;
		h = addr + 1;
		hlen = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(addr, ':');
		if (!colon || memchr(addr, ':', (size_t)(colon - addr)))
			return -EINVAL; /* a bare IPv6 address needs its brackets */
		hlen = (size_t)(colon - addr);
	}
	if (!hlen || hlen >= size)
		return -EINVAL;
	char *end;
	const char *p = colon + 1;
	if (*p < '0' || *p > '9')
		return -EINVAL;
	unsigned long v = strtoul(p, &end, 10);
	if (*end || v > 65535)
		return -EINVAL;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	*port = (unsigned)v;
	return 0;
}

static int listen_on(const char *addr, int *port)
{
	char host[256], service[16];
	unsigned p;
	if (http_split_addr(addr, host, sizeof(host), &p))
		return -EINVAL;
	snprintf(service, sizeof(service), "%u", p);
	struct addrinfo hints = {0}, *ai;
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	if (getaddrinfo(host, service, &hints, &ai))
		return -EINVAL;
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int rc = 0;
	if (fd < 0) {
		rc = -errno;
		goto out_free_ai;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0) {
		rc = -errno;
		close(fd);
		goto out_free_ai;
	}
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	*port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
	                                 : ntohs(((struct sockaddr_in *)&ss)->sin_port);
	rc = fd;
out_free_ai:
	freeaddrinfo(ai);
	return rc;
}

int http_server_new(struct http_server **out, const char *addr, const struct http_limits *lim, http_handler_fn fn,
                    void *ctx)
{
	struct http_server *s = xcalloc(1, sizeof(*s));
	s->lim = *lim;
	if (!s->lim.max_head)
		s->lim.max_head = 8192;
	if (!s->lim.read_ms)
		s->lim.read_ms = 5000;
	if (!s->lim.write_ms)
		s->lim.write_ms = 30000;
	if (!s->lim.idle_ms)
		s->lim.idle_ms = 60000;
	if (!s->lim.max_clients)
		s->lim.max_clients = 64;
	s->fn = fn;
	s->ctx = ctx;
	s->fd = listen_on(addr, &s->port);
	if (s->fd < 0) {
		int rc = s->fd;
		free(s);
		return rc;
	}
	s->clients = xcalloc(s->lim.max_clients, sizeof(*s->clients));
	for (unsigned i = 0; i < s->lim.max_clients; i++)
		s->clients[i].fd = -1;
	s->pfds = xcalloc(s->lim.max_clients + 1, sizeof(*s->pfds));
	s->pfd_client = xcalloc(s->lim.max_clients + 1, sizeof(*s->pfd_client));
	*out = s;
	return 0;
}

static void client_close(struct http_server *s, struct http_client *c)
{
	if (c->fd < 0)
		return;
	close(c->fd);
	c->fd = -1;
	free(c->in);
	c->in = NULL;
	strbuf_release(&c->out);
	s->nclients--;
}

void http_server_free(struct http_server *s)
{
	if (!s)
		return;
	for (unsigned i = 0; i < s->lim.max_clients; i++)
		client_close(s, &s->clients[i]);
	close(s->fd);
	free(s->clients);
	free(s->pfds);
	free(s->pfd_client);
	free(s);
}

int http_server_port(const struct http_server *s)
{
	return s->port;
}

void http_server_get_stats(const struct http_server *s, struct http_server_stats *st)
{
	*st = s->st;
	st->waiting = 0;
	for (size_t i = 0; i < s->lim.max_clients; i++)
		st->waiting += s->clients[i].fd >= 0 && s->clients[i].state == CLIENT_WAIT;
}

size_t http_server_clients(const struct http_server *s)
{
	return s->nclients;
}

/* Queues the status line, headers and (unless HEAD) body. */
static void client_respond(struct http_server *s, struct http_client *c, const struct http_response *res)
{
	int status = res->status ? res->status : 500;
	strbuf_reset(&c->out);
	c->out_off = 0;
	strbuf_addf(&c->out,
	            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: %s\r\n"
	            "Cache-Control: no-store\r\n%s\r\n",
	            status, http_status_text(status),
	            res->content_type ? res->content_type : "text/plain; charset=utf-8", res->body.len,
	            c->close_after ? "close" : "keep-alive", res->extra_headers ? res->extra_headers : "");
	if (!c->head_only)
		strbuf_add(&c->out, res->body.buf, res->body.len);
	c->state = CLIENT_WRITE;
	c->deadline = now_ms() + s->lim.write_ms;
}

/* The server's own answer to a request it refuses; the connection closes after. */
static void client_refuse(struct http_server *s, struct http_client *c, int status, const char *why)
{
	struct http_response res = {.status = status};
	strbuf_addf(&res.body, "%s\n", why);
	c->close_after = true;
	c->head_only = false;
	client_respond(s, c, &res);
	strbuf_release(&res.body);
	s->st.rejected++;
}

static void client_call(struct http_server *s, struct http_client *c, bool again)
{
	struct http_response res = {0};
	s->fn(s->ctx, &c->req, again, &res);
	if (res.again_ms) {
		c->state = CLIENT_WAIT;
		c->deadline = now_ms() + res.again_ms;
	} else {
		s->st.requests++;
		client_respond(s, c, &res);
	}
	strbuf_release(&res.body);
}

/* The head in c->in is whole and understood: skip its body, then answer. */
static void client_dispatch(struct http_server *s, struct http_client *c)
{
	if (c->state == CLIENT_BODY && c->body_left)
		return;
	c->close_after = !c->req.keep_alive;
	c->head_only = !strcmp(c->req.method, "HEAD");
	if (strcmp(c->req.method, "GET") && !c->head_only) {
		struct http_response res = {.status = 405, .extra_headers = "Allow: GET, HEAD\r\n"};
		c->close_after = true; /* as every refusal: the client may not expect what follows */
		strbuf_addstr(&res.body, "only GET and HEAD are served\n");
		client_respond(s, c, &res);
		strbuf_release(&res.body);
		s->st.rejected++;
		return;
	}
	client_call(s, c, false);
}

/* Looks for a whole head in what was read; answers or refuses it. */
static void client_parse(struct http_server *s, struct http_client *c)
{
	int rc = http_request_parse(c->in, c->in_len, s->lim.max_head, s->lim.max_body, &c->req);
	switch (rc) {
	case 0:
		return;
	case HTTP_ERR_TOO_LARGE:
		client_refuse(s, c, 431, "request head too large");
		return;
	case HTTP_ERR_BODY:
		client_refuse(s, c, 413, "request body too large (or chunked)");
		return;
	case HTTP_ERR_VERSION:
		client_refuse(s, c, 505, "only HTTP/1.0 and HTTP/1.1 are served");
		return;
	case 1:
		break;
	default:
		client_refuse(s, c, 400, "malformed request");
		return;
	}
	/* keep what follows the head: body bytes, or a pipelined request */
	size_t used = c->req.head_bytes;
	uint64_t body = c->req.content_length;
	size_t skip = body < c->in_len - used ? (size_t)body : c->in_len - used;
	used += skip;
	memmove(c->in, c->in + used, c->in_len - used);
	c->in_len -= used;
	c->body_left = body - skip;
	c->state = c->body_left ? CLIENT_BODY : CLIENT_READ;
	client_dispatch(s, c);
}

static void client_linger(struct http_server *s, struct http_client *c)
{
	char buf[4096];
	for (;;) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		if (n <= 0 || (uint64_t)n >= c->body_left) {
			client_close(s, c);
			return;
		}
		c->body_left -= (uint64_t)n;
	}
}

static void client_read(struct http_server *s, struct http_client *c)
{
	if (c->state == CLIENT_LINGER) {
		client_linger(s, c);
		return;
	}
	for (;;) {
		char skipbuf[4096];
		bool skipping = c->state == CLIENT_BODY;
		char *dst = skipping ? skipbuf : c->in + c->in_len;
		size_t room = skipping ? (c->body_left < sizeof(skipbuf) ? (size_t)c->body_left : sizeof(skipbuf))
		                       : s->lim.max_head - c->in_len;
		if (!room) {
			client_parse(s, c); /* a full buffer: too large unless whole */
			return;
		}
		ssize_t n = recv(c->fd, dst, room, 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
			client_close(s, c);
			return;
		}
		if (n < 0)
			return;
		if (skipping) {
			c->body_left -= (uint64_t)n;
			if (!c->body_left) {
				c->state = CLIENT_READ;
				client_dispatch(s, c);
				return;
			}
			continue;
		}
		if (!c->in_len)
			c->deadline = now_ms() + s->lim.read_ms; /* the time limit runs from the first byte */
		c->in_len += (size_t)n;
		client_parse(s, c);
		if (c->fd < 0 || c->state != CLIENT_READ)
			return;
	}
}

static void client_write(struct http_server *s, struct http_client *c)
{
	while (c->out_off < c->out.len) {
		ssize_t n = send(c->fd, c->out.buf + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return;
			client_close(s, c);
			return;
		}
		c->out_off += (size_t)n;
	}
	if (c->close_after) {
		shutdown(c->fd, SHUT_WR);
		c->state = CLIENT_LINGER;
		c->body_left = LINGER_BYTES;
		c->deadline = now_ms() + LINGER_MS;
		return;
	}
	/* kept alive: the next request, perhaps already read (pipelined) */
	strbuf_release(&c->out);
	c->out_off = 0;
	c->state = CLIENT_READ;
	c->deadline = now_ms() + (c->in_len ? s->lim.read_ms : s->lim.idle_ms);
	if (c->in_len)
		client_parse(s, c);
}

static void server_accept(struct http_server *s)
{
	for (;;) {
		int fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return; /* EAGAIN, or a client gone before accept: nothing to do */
		s->st.connections++;
		struct http_client *c = NULL;
		for (unsigned i = 0; i < s->lim.max_clients && !c; i++)
			if (s->clients[i].fd < 0)
				c = &s->clients[i];
		if (!c) {
			/* full: say so without waiting for the client */
			static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
			                           "Connection: close\r\nRetry-After: 1\r\n\r\n";
			if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
				/* the client is gone: nothing to tell */
			}
			close(fd);
			s->st.rejected++;
			continue;
		}
		memset(c, 0, sizeof(*c));
		c->fd = fd;
		c->in = xmalloc(s->lim.max_head);
		c->state = CLIENT_READ;
		c->deadline = now_ms() + s->lim.read_ms;
		s->nclients++;
	}
}

/* Deadlines that passed: slow requests get 408, slow readers and idle
 * connections are closed, waiting handlers are called again. */
static void server_expire(struct http_server *s, uint64_t now)
{
	for (unsigned i = 0; i < s->lim.max_clients; i++) {
		struct http_client *c = &s->clients[i];
		if (c->fd < 0 || now < c->deadline)
			continue;
		switch (c->state) {
		case CLIENT_WAIT:
			client_call(s, c, true);
			if (c->state == CLIENT_WRITE)
				client_write(s, c);
			break;
		case CLIENT_READ:
		case CLIENT_BODY:
			if (c->in_len || c->state == CLIENT_BODY) {
				s->st.timeouts++;
				client_refuse(s, c, 408, "request not received in time");
				client_write(s, c);
			} else {
				client_close(s, c); /* idle */
			}
			break;
		case CLIENT_WRITE:
			s->st.timeouts++;
			client_close(s, c);
			break;
		case CLIENT_LINGER:
			client_close(s, c);
			break;
		}
	}
}

int http_server_poll(struct http_server *s, int timeout_ms)
{
	uint64_t now = now_ms();
	size_t n = 0;
	s->pfds[n++] = (struct pollfd){.fd = s->fd, .events = POLLIN};
	for (unsigned i = 0; i < s->lim.max_clients; i++) {
		struct http_client *c = &s->clients[i];
		if (c->fd < 0)
			continue;
		if (c->deadline <= now)
			timeout_ms = 0;
		else if (c->deadline - now < (uint64_t)timeout_ms)
			timeout_ms = (int)(c->deadline - now);
		short ev = c->state == CLIENT_WRITE ? POLLOUT : c->state == CLIENT_WAIT ? 0 : POLLIN;
		s->pfd_client[n] = i;
		s->pfds[n++] = (struct pollfd){.fd = c->fd, .events = ev};
	}
	int rc = poll(s->pfds, n, timeout_ms);
	if (rc < 0)
		return errno == EINTR ? 0 : -errno;
	for (size_t k = 1; k < n; k++) {
		short re = s->pfds[k].revents;
		if (!re)
			continue;
		struct http_client *c = &s->clients[s->pfd_client[k]];
		if (c->fd != s->pfds[k].fd)
			continue;
		if (c->state == CLIENT_WRITE)
			client_write(s, c);
		else if (c->state == CLIENT_WAIT && (re & (POLLHUP | POLLERR)))
			client_close(s, c); /* gone before its answer was ready */
		else if (re & (POLLIN | POLLHUP | POLLERR))
			client_read(s, c);
		if (c->fd >= 0 && c->state == CLIENT_WRITE)
			client_write(s, c);
	}
	if (s->pfds[0].revents & POLLIN)
		server_accept(s);
	server_expire(s, now_ms());
	return 0;
}
