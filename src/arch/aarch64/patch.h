/* patch.h - diverting a function's entry on aarch64: not done yet (the
 * agent is x86-64 code today). The interface is src/arch/patch.h; every
 * call refuses with -ENOTSUP (patch.c). */
#ifndef KILN_ARCH_AARCH64_PATCH_H
#define KILN_ARCH_AARCH64_PATCH_H

#define ARCH_PATCH_JUMP_LEN  4
#define ARCH_PATCH_ABS_LEN   16
#define ARCH_PATCH_TRAMP_MAX 128
#define ARCH_PATCH_STUB_LEN  32

#include "arch/patch.h"

#endif
