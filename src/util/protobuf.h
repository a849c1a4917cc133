/* protobuf.h - the protocol buffers wire format, both ways, for pprof's
 * profile.proto (render/pprof.c writes it, capture/pprof_read.c reads it).
 *
 * Writing appends to a strbuf: varints, tags, and length-delimited fields
 * (a nested message is built in its own strbuf, then added with its
 * length). Reading walks a byte range that the caller does not trust:
 * every length is checked against what is left, a varint longer than ten
 * bytes or past the end is an error, and nothing is allocated.
 */
#ifndef KILN_UTIL_PROTOBUF_H
#define KILN_UTIL_PROTOBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct strbuf;

enum pb_wire {
	PB_VARINT = 0,
	PB_I64 = 1,
	PB_LEN = 2,
	PB_I32 = 5,
};

/* Appends v as a varint (1 to 10 bytes). */
void pb_put_varint(struct strbuf *sb, uint64_t v);
/* Appends a field's tag: (field << 3) | wire. */
void pb_put_tag(struct strbuf *sb, uint32_t field, enum pb_wire wire);
/* A varint field; skipped when v is 0 (proto3's default). */
void pb_put_uint(struct strbuf *sb, uint32_t field, uint64_t v);
/* A signed field as proto3's int64 writes it (two's complement varint);
 * skipped when 0. */
void pb_put_int(struct strbuf *sb, uint32_t field, int64_t v);
/* A length-delimited field (bytes, string or nested message), written
 * even when len is 0. */
void pb_put_bytes(struct strbuf *sb, uint32_t field, const void *data, size_t len);

/* A cursor over untrusted bytes [p, end). */
struct pb_reader {
	const uint8_t *p, *end;
};

/* One field as pb_next() finds it. */
struct pb_field {
	uint32_t number;
	enum pb_wire wire;
	uint64_t value;      /* PB_VARINT, PB_I64, PB_I32 */
	const uint8_t *data; /* PB_LEN: the payload ... */
	size_t len;          /* ... and its length, inside the reader's range */
};

static inline void pb_reader_init(struct pb_reader *r, const void *data, size_t len)
{
	r->p = data;
	r->end = r->p + len;
}

static inline bool pb_done(const struct pb_reader *r)
{
	return r->p >= r->end;
}

/* Reads a varint. Returns 0, or -EBADMSG when it runs past the end or is
 * longer than ten bytes. */
int pb_read_varint(struct pb_reader *r, uint64_t *v);
/* Reads the next field (any wire type; groups, wire types 3 and 4, are
 * refused). Returns 0, or -EBADMSG for a bad tag, field number 0, a
 * length past the end or an unknown wire type. Callers skip fields they
 * do not know simply by not looking at them. */
int pb_next(struct pb_reader *r, struct pb_field *f);

/* The values of a repeated varint field, which writers send packed (one
 * PB_LEN field of varints) or one per field: calls fn for each value in
 * f. Returns 0, the first non-zero fn result, or -EBADMSG. */
int pb_each_varint(const struct pb_field *f, int (*fn)(void *ctx, uint64_t v), void *ctx);

#endif
