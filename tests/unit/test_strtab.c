// SPDX-License-Identifier: Apache-2.0
/* common/strtab.c: interned strings. */

#include "unit.h"
#include "../../common/strtab.h"

static void test_strtab(void)
{
	struct strtab t = {0};
	char name[32];

	CHECK_EQ_U64(strtab_intern(&t, "", 0), 0);
	CHECK_EQ_U64(strtab_intern(&t, "main", 4), 1);
	CHECK_EQ_U64(strtab_intern(&t, "mainx", 4), 1); /* by length, not by NUL */
	CHECK_EQ_U64(strtab_intern(&t, "hot_a", 5), 2);
	CHECK_EQ_U64(strtab_find(&t, "hot_a", 5), 2);
	CHECK_EQ_U64(strtab_find(&t, "hot_b", 5), STRTAB_NONE);
	CHECK_STR(strtab_get(&t, 1), "main");
	for (int i = 0; i < 20000; i++) {
		snprintf(name, sizeof(name), "fn_%d", i);
		CHECK_EQ_U64(strtab_intern(&t, name, strlen(name)), 3 + (uint64_t)i);
	}
	CHECK_EQ_U64(strtab_intern(&t, "fn_19999", 8), 3 + 19999);
	CHECK_EQ_U64(strtab_count(&t), 20003);
	strtab_clear(&t);
	CHECK_EQ_U64(strtab_count(&t), 0);
	CHECK_EQ_U64(strtab_intern(&t, "again", 5), 0);
	strtab_free(&t);
}

int main(void)
{
	RUN(test_strtab);
	return unit_done();
}
