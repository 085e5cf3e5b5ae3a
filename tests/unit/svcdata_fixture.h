/* SPDX-License-Identifier: Apache-2.0 */
/* A small service profile with known contents, for the svcdata and block tests. */
#ifndef SONDE_SVCDATA_FIXTURE_H
#define SONDE_SVCDATA_FIXTURE_H

#include <stdio.h>
#include <string.h>

#include "../../profile/svcdata.h"

static struct svcdata *sample_service(const char *name, int64_t scale)
{
	struct svcdata *sd = svcdata__new(name);
	struct sd_mapping m = {.start = 0x1000, .limit = 0x9000, .offset = 0};
	struct sd_function f = {0};
	struct sd_line ln = {0};
	struct sd_location l = {0};
	struct sd_type t = {0};
	struct sd_label labels[2];
	uint32_t locs[3], st1, st2, s1, s2;

	m.filename = svcdata__string(sd, "app", 3);
	m.build_id = svcdata__string(sd, "abcd", 4);
	l.mapping = svcdata__mapping(sd, &m);
	l.frame_type = svcdata__string(sd, "native", 6);
	for (int i = 0; i < 3; i++) {
		char fn[8];

		snprintf(fn, sizeof(fn), "fn%d", i);
		f.name = svcdata__string(sd, fn, strlen(fn));
		ln.function = svcdata__function(sd, &f);
		ln.line = 10 + i;
		l.address = 0x1000 + (uint64_t)i * 16;
		l.nlines = 1;
		locs[i] = svcdata__location(sd, &l, &ln);
	}
	st1 = svcdata__stack(sd, locs, 3);     /* fn0 <- fn1 <- fn2 (root) */
	st2 = svcdata__stack(sd, locs + 1, 2); /* fn1 <- fn2: a prefix of st1, shares nodes */
	t.sample_type = svcdata__string(sd, "samples", 7);
	t.sample_unit = svcdata__string(sd, "count", 5);
	t.period = 10000000;
	labels[0] = (struct sd_label){svcdata__string(sd, "thread.name", 11),
				      svcdata__string(sd, "main", 4)};
	labels[1] = (struct sd_label){svcdata__string(sd, "process.pid", 11),
				      svcdata__string(sd, "42", 2)};
	s1 = svcdata__series(sd, svcdata__type(sd, &t), labels, 2);
	labels[0].value = svcdata__string(sd, "worker", 6);
	s2 = svcdata__series(sd, svcdata__type(sd, &t), labels, 2);
	svcdata__row(sd, s1, st1, 1700000000000000000ULL, 1 * scale);
	svcdata__row(sd, s1, st1, 1700000000000400000ULL, 2 * scale); /* same ms as the first */
	svcdata__row(sd, s2, st2, 1700000001000000000ULL, 5 * scale);
	svcdata__row(sd, s1, st2, 1700000002000000000ULL, 7 * scale);
	sd->profiles = 2;
	return sd;
}

#endif
