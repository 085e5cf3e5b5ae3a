// SPDX-License-Identifier: Apache-2.0
#include <libiberty/demangle.h>
#include <stdlib.h>
#include <string.h>

#include "demangle.h"
#include "../common/util.h"

int sym_demangle(const char *name, char *out, size_t size)
{
	char *d;

	/* Itanium C++ and Rust legacy start with _Z, Rust v0 with _R */
	if (!name || name[0] != '_' || (name[1] != 'Z' && name[1] != 'R'))
		return 0;
	/* parameters tell overloads apart; return types are noise in a flame graph */
	d = cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI | DMGL_RET_DROP | DMGL_AUTO);
	if (!d)
		return 0;
	str_copy(out, d, size);
	free(d);
	return 1;
}
