// SPDX-License-Identifier: Apache-2.0
/*
 * A raw copy of live stack, as the kernel makes it for a sample: under ASan (make SANITIZE=1)
 * it reads the redzones between locals, which is what it must do here, so it is neither
 * instrumented nor a memcpy the sanitizer intercepts.
 */
#ifndef SONDE_TEST_STACK_COPY_H
#define SONDE_TEST_STACK_COPY_H

#include <stdint.h>

__attribute__((no_sanitize_address, noinline, unused)) static void
copy_stack(uint8_t *dst, uint64_t src, uint64_t len)
{
	const volatile uint8_t *p = (const volatile uint8_t *)(uintptr_t)src;

	for (uint64_t i = 0; i < len; i++)
		dst[i] = p[i];
}

#endif
