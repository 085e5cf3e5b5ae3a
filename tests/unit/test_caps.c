// SPDX-License-Identifier: Apache-2.0
/* agent/caps.c: capability sets. */

#include "unit.h"
#include "../../agent/caps.h"

static void test_caps(void)
{
	struct caps c;
	char names[256];

	CHECK(caps_read(&c) == 0);
	CHECK((c.effective & ~c.permitted) == 0);
	CHECK_STR(caps_names(CAPS_BIT(CAPS_SYS_PTRACE) | CAPS_BIT(CAPS_DAC_READ_SEARCH), names,
			     sizeof(names)),
		  "dac_read_search,sys_ptrace");
	CHECK_STR(caps_names(0, names, sizeof(names)), "none");
	CHECK_STR(caps_names(CAPS_BIT(CAPS_BPF) | CAPS_BIT(63), names, sizeof(names)),
		  "bpf,cap_63");
}

int main(void)
{
	RUN(test_caps);
	return unit_done();
}
