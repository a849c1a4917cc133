/* lock_futex.c - decoding the futex syscall tracepoints. */
#include "capture/lock_futex.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/events.h"

static const char *const op_names[] = {
    "FUTEX_WAIT",           "FUTEX_WAKE",        "FUTEX_FD",          "FUTEX_REQUEUE",
    "FUTEX_CMP_REQUEUE",    "FUTEX_WAKE_OP",     "FUTEX_LOCK_PI",     "FUTEX_UNLOCK_PI",
    "FUTEX_TRYLOCK_PI",     "FUTEX_WAIT_BITSET", "FUTEX_WAKE_BITSET", "FUTEX_WAIT_REQUEUE_PI",
    "FUTEX_CMP_REQUEUE_PI", "FUTEX_LOCK_PI2",
};

int futex_format_parse(const char *text, uint16_t *id, const char *const *names, uint32_t *offs, size_t n)
{
	const char *s = strstr(text, "ID:");
	if (!s)
		return -EPROTO;
	*id = (uint16_t)strtoul(s + 3, NULL, 10);
	return event_format_fields(text, names, offs, NULL, n);
}

static int read_text(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -errno;
	size_t n = fread(buf, 1, size - 1, f);
	fclose(f);
	buf[n] = '\0';
	return 0;
}

int futex_format_load(struct futex_format *f, const char *dir)
{
	static const char *const dirs[] = {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"};
	char path[512], text[4096];
	int rc = -ENOENT;
	for (size_t d = 0; d < (dir ? 1 : 2); d++) {
		snprintf(path, sizeof(path), "%s/events/syscalls/sys_enter_futex/format", dir ? dir : dirs[d]);
		rc = read_text(path, text, sizeof(text));
		if (rc)
			continue;
		const char *en[] = {"uaddr", "op", "val"};
		uint32_t eo[3] = {UINT32_MAX, UINT32_MAX, UINT32_MAX};
		if (futex_format_parse(text, &f->enter_id, en, eo, 3) != 3)
			return -EPROTO;
		snprintf(path, sizeof(path), "%s/events/syscalls/sys_exit_futex/format", dir ? dir : dirs[d]);
		rc = read_text(path, text, sizeof(text));
		if (rc)
			return rc;
		const char *xn[] = {"ret"};
		uint32_t xo[1] = {UINT32_MAX};
		if (futex_format_parse(text, &f->exit_id, xn, xo, 1) != 1)
			return -EPROTO;
		f->uaddr = eo[0];
		f->op = eo[1];
		f->val = eo[2];
		f->ret = xo[0];
		return 0;
	}
	return rc == -EACCES || rc == -EPERM ? -EACCES : -ENOENT;
}

/* The fields are 8 bytes wide (syscall arguments are longs). */
static bool field(const uint8_t *raw, size_t n, uint32_t off, uint64_t *v)
{
	if (off > n || n - off < 8)
		return false;
	memcpy(v, raw + off, 8);
	return true;
}

void futex_decode(const struct futex_format *f, const uint8_t *raw, size_t n, struct futex_event *out)
{
	memset(out, 0, sizeof(*out));
	if (n < 2)
		return;
	uint16_t id;
	memcpy(&id, raw, 2);
	uint64_t a, b;
	if (id == f->enter_id && field(raw, n, f->uaddr, &a) && field(raw, n, f->op, &b)) {
		out->kind = FUTEX_EV_ENTER;
		out->uaddr = a;
		out->op = (uint32_t)b;
	} else if (id == f->exit_id && field(raw, n, f->ret, &a)) {
		out->kind = FUTEX_EV_EXIT;
		out->ret = (int64_t)a;
	}
}

const char *futex_op_name(uint32_t op, char *buf, size_t size)
{
	uint32_t cmd = futex_op_cmd(op);
	if (cmd >= sizeof(op_names) / sizeof(op_names[0])) {
		snprintf(buf, size, "FUTEX_OP_%u", op);
		return buf;
	}
	snprintf(buf, size, "%s%s", op_names[cmd], (op & KILN_FUTEX_PRIVATE) ? "_PRIVATE" : "");
	return buf;
}
