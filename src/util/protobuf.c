/* protobuf.c - the protocol buffers wire format (see protobuf.h). */
#include <errno.h>

#include "util/protobuf.h"
#include "util/strbuf.h"

void pb_put_varint(struct strbuf *sb, uint64_t v)
{
	uint8_t buf[10];
	size_t n = 0;
	while (v >= 0x80) {
		buf[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	buf[n++] = (uint8_t)v;
	strbuf_add(sb, buf, n);
}

void pb_put_tag(struct strbuf *sb, uint32_t field, enum pb_wire wire)
{
	pb_put_varint(sb, (uint64_t)field << 3 | (uint64_t)wire);
}

void pb_put_uint(struct strbuf *sb, uint32_t field, uint64_t v)
{
	if (!v)
		return;
	pb_put_tag(sb, field, PB_VARINT);
	pb_put_varint(sb, v);
}

void pb_put_int(struct strbuf *sb, uint32_t field, int64_t v)
{
	pb_put_uint(sb, field, (uint64_t)v);
}

void pb_put_bytes(struct strbuf *sb, uint32_t field, const void *data, size_t len)
{
	pb_put_tag(sb, field, PB_LEN);
	pb_put_varint(sb, len);
	if (len) /* an empty message may have no buffer yet */
		strbuf_add(sb, data, len);
}

int pb_read_varint(struct pb_reader *r, uint64_t *v)
{
	uint64_t x = 0;
	for (unsigned i = 0; i < 10; i++) {
		if (r->p >= r->end)
			return -EBADMSG;
		uint8_t b = *r->p++;
		/* the tenth byte holds bit 63 only */
		if (i == 9 && b > 1)
			return -EBADMSG;
		x |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return -EBADMSG;
}

int pb_next(struct pb_reader *r, struct pb_field *f)
{
	uint64_t tag;
	int rc = pb_read_varint(r, &tag);
	if (rc)
		return rc;
	uint64_t number = tag >> 3;
	if (!number || number > UINT32_MAX >> 3)
		return -EBADMSG;
	f->number = (uint32_t)number;
	f->wire = (enum pb_wire)(tag & 7);
	f->value = 0;
	f->data = NULL;
	f->len = 0;
	switch (f->wire) {
	case PB_VARINT:
		return pb_read_varint(r, &f->value);
	case PB_I64:
	case PB_I32: {
		size_t n = f->wire == PB_I64 ? 8 : 4;
		if ((size_t)(r->end - r->p) < n)
			return -EBADMSG;
		for (size_t i = 0; i < n; i++)
			f->value |= (uint64_t)r->p[i] << (8 * i);
		r->p += n;
		return 0;
	}
	case PB_LEN: {
		uint64_t len;
		rc = pb_read_varint(r, &len);
		if (rc)
			return rc;
		if (len > (uint64_t)(r->end - r->p))
			return -EBADMSG;
		f->data = r->p;
		f->len = (size_t)len;
		r->p += len;
		return 0;
	}
	default:
		return -EBADMSG;
	}
}

int pb_each_varint(const struct pb_field *f, int (*fn)(void *ctx, uint64_t v), void *ctx)
{
	if (f->wire == PB_VARINT)
		return fn(ctx, f->value);
	if (f->wire != PB_LEN)
		return -EBADMSG;
	struct pb_reader r;
	pb_reader_init(&r, f->data, f->len);
	while (!pb_done(&r)) {
		uint64_t v;
		int rc = pb_read_varint(&r, &v);
		if (rc)
			return rc;
		rc = fn(ctx, v);
		if (rc)
			return rc;
	}
	return 0;
}
