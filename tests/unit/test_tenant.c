// SPDX-License-Identifier: Apache-2.0
/*
 * collector/tenant: which names are tenants (each is a path component of the store's keys, so
 * none may be ".", "..", hidden, or hold a separator).
 */
#include <string.h>

#include "unit.h"
#include "../../collector/tenant.h"

static void test_tenant_valid(void)
{
	static const char *const good[] = {"anonymous", "a",   "team-a", "Team_B.prod",
					   "0",		"a..", "-",	 "_"};
	static const char *const bad[] = {"",	".hidden", "..a",  ".", "..",  "a/b",  "/a",
					  "a/", "a b",	   "a\tb", "ä", "a:b", "a\\b", "a%2fb",
					  "*",	"a\nb",	   "a?b",  "~", "a@b"};
	char name[80];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		CHECK(tenant_valid(good[i]));
		if (!tenant_valid(good[i]))
			fprintf(stderr, "  refused: \"%s\"\n", good[i]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(!tenant_valid(bad[i]));
		if (tenant_valid(bad[i]))
			fprintf(stderr, "  accepted: \"%s\"\n", bad[i]);
	}
	/* up to TENANT_MAX bytes */
	memset(name, 'x', sizeof(name));
	name[TENANT_MAX] = 0;
	CHECK(tenant_valid(name));
	name[TENANT_MAX] = 'x';
	name[TENANT_MAX + 1] = 0;
	CHECK(!tenant_valid(name));
}

int main(void)
{
	RUN(test_tenant_valid);
	return unit_done();
}
