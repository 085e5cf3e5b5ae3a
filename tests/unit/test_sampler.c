// SPDX-License-Identifier: Apache-2.0
/* agent/sampler.c: the CPU list parser (the BPF side is tested by tests/bpf/). */
#include <errno.h>

#include "unit.h"
#include "../../agent/sampler.h"

static void test_cpu_list(void)
{
	bool cpus[64];

	CHECK(parse_cpu_list("0-3,8,10-11\n", cpus, 64) == 7);
	CHECK(cpus[0] && cpus[3] && !cpus[4] && cpus[8] && cpus[11] && !cpus[12]);
	CHECK(parse_cpu_list("0", cpus, 64) == 1);
	CHECK(parse_cpu_list("3-1", cpus, 64) == -EINVAL);
	CHECK(parse_cpu_list("x", cpus, 64) == -EINVAL);
}

int main(void)
{
	RUN(test_cpu_list);
	return unit_done();
}
