// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "retention.h"
#include "tenant.h"
#include "../common/util.h"

struct override {
	char tenant[TENANT_MAX + 1];
	uint64_t ns;
};

static struct {
	uint64_t default_ns;
	struct override *v;
	size_t n;
} policy;

int retention_parse_override(const char *s, char *tenant, uint64_t *ret_ns, char *err,
			     size_t err_size)
{
	const char *eq = strchr(s, '=');
	size_t len = eq ? (size_t)(eq - s) : 0;
	char t[TENANT_MAX + 1];
	uint64_t ns;

	if (!eq || !len || len > TENANT_MAX) {
		snprintf(err, err_size, "--tenant-retention %s: expected TENANT=DURATION", s);
		return -EINVAL;
	}
	memcpy(t, s, len);
	t[len] = 0;
	if (!tenant_valid(t) || parse_duration_ns(eq + 1, &ns)) {
		snprintf(err, err_size, "--tenant-retention %s: %s", s,
			 tenant_valid(t) ? "not a duration (say 7d, 12h or 0)"
					 : "not a valid tenant name");
		return -EINVAL;
	}
	memcpy(tenant, t, len + 1);
	*ret_ns = ns;
	return 0;
}

int retention_configure(uint64_t default_ns, char *const *overrides, size_t n, char *err,
			size_t err_size)
{
	struct override *v = calloc(n ? n : 1, sizeof(*v));

	if (!v) {
		snprintf(err, err_size, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		if (retention_parse_override(overrides[i], v[i].tenant, &v[i].ns, err, err_size)) {
			free(v);
			return -EINVAL;
		}
	}
	free(policy.v);
	policy.default_ns = default_ns;
	policy.v = v;
	policy.n = n;
	return 0;
}

uint64_t retention_ns(const char *tenant)
{
	/* the last override of a tenant wins, as a later flag overrides an earlier one */
	for (size_t i = policy.n; i-- > 0;)
		if (strcmp(policy.v[i].tenant, tenant) == 0)
			return policy.v[i].ns;
	return policy.default_ns;
}

uint64_t retention_floor_ms(const char *tenant, uint64_t now_ms)
{
	uint64_t r = retention_ns(tenant) / 1000000;

	return r && now_ms > r ? now_ms - r : 0;
}
