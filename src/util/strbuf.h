/* strbuf.h - a growable, always NUL-terminated text buffer.
 *
 * Zero-initialised (STRBUF_INIT) is an empty buffer. .buf is owned by the
 * strbuf; strbuf_detach() hands it to the caller.
 */
#ifndef KILN_UTIL_STRBUF_H
#define KILN_UTIL_STRBUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct strbuf {
	char *buf;
	size_t len;
	size_t cap;
};

#define STRBUF_INIT                                                                                                    \
	{                                                                                                              \
		0                                                                                                      \
	}

void strbuf_release(struct strbuf *sb);
void strbuf_reset(struct strbuf *sb);
void strbuf_add(struct strbuf *sb, const void *data, size_t len);
void strbuf_addstr(struct strbuf *sb, const char *s);
void strbuf_addch(struct strbuf *sb, char c);
void strbuf_addf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap);
/* Appends v in decimal, without printf's cost (exporters write millions). */
void strbuf_add_u64(struct strbuf *sb, uint64_t v);
/* Appends s as a JSON string literal, quotes included; bytes that are not
 * UTF-8 become U+FFFD, so the output is valid JSON whatever s holds. */
void strbuf_add_json_string(struct strbuf *sb, const char *s);
/* The text, never NULL ("" when empty). */
const char *strbuf_str(const struct strbuf *sb);
char *strbuf_detach(struct strbuf *sb);

#endif
