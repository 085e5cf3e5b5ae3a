/* SPDX-License-Identifier: Apache-2.0 */
#ifndef SONDE_DEMANGLE_H
#define SONDE_DEMANGLE_H

#include <stddef.h>

/*
 * Demangles a C++ (Itanium), Rust legacy or Rust v0 symbol into out (always terminated).
 * Returns 1 when demangled, 0 when name is not a mangled name (out unchanged).
 */
int sym_demangle(const char *name, char *out, size_t size);

#endif
