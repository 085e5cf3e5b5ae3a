/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tenant names. A tenant is the first component of every object key it owns (TENANT/blocks/...,
 * TENANT/segments/...), so a name must be safe as one path component of a directory or an S3 key.
 */
#ifndef SONDE_TENANT_H
#define SONDE_TENANT_H

#include <stdbool.h>

#define TENANT_MAX 64 /* bytes of a name */

/* Whether tenant is a valid name: 1..TENANT_MAX of [A-Za-z0-9._-], not starting with '.' (no "." or
 * "..", no hidden names). */
bool tenant_valid(const char *tenant);

#endif
