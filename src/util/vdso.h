/* vdso.h - this process's vDSO image, found one way for every user.
 *
 * The vDSO is the kernel's, the same image in every process on this
 * kernel, so kiln's own copy stands in for a sampled process's: unwind/
 * reads its CFI and symbols/ its symbols from it. Here in util/ because
 * both of those layers need it and neither may include the other (nor
 * capture/); it reads only the auxiliary vector and the image's own ELF
 * headers, never /proc.
 */
#ifndef KILN_UTIL_VDSO_H
#define KILN_UTIL_VDSO_H

#include <stddef.h>

/* The image's bytes, from its ELF header to the end of its section headers
 * or last loaded segment, whichever is further: *image stays valid for the
 * process's life. Returns 0, -ENOENT (no vDSO) or -ENOEXEC (not a 64-bit
 * ELF image of a sane size). */
int vdso_image(const void **image, size_t *size);

#endif
