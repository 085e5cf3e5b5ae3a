// SPDX-License-Identifier: Apache-2.0
#include <string.h>

#include "tenant.h"

bool tenant_valid(const char *t)
{
	size_t n = strlen(t);

	/* a name starting with '.' would hide in the storage (and "." and ".." escape it) */
	if (n == 0 || n > TENANT_MAX || t[0] == '.')
		return false;
	for (; *t; t++)
		if (!((*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z') ||
		      (*t >= '0' && *t <= '9') || *t == '.' || *t == '_' || *t == '-'))
			return false;
	return true;
}
