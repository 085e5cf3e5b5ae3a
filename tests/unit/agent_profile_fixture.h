/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An agent profile with known contents (7 samples over 4 stacks and 3 processes: kernel frames,
 * a long C++ name, an unmapped frame, a truncation marker), named as frame_syms__build names
 * frames, and its OTLP encoding: the input of the OTLP, ingest, server and API tests.
 */
#ifndef SONDE_AGENT_PROFILE_FIXTURE_H
#define SONDE_AGENT_PROFILE_FIXTURE_H

#include <string.h>

#include "../../agent/frames.h"
#include "../../agent/otlp.h"
#include "../../agent/proc.h"
#include "../../agent/profile.h"

#define NFRAMES 6

static const char *const frame_names[NFRAMES] = {
	"leaf_fn", "caller_fn",	       "std::vector<int>::push_back(int const&)",
	"main",	   "[unknown+0xdead]", "[truncated]"};

static struct frame make_frame(int i)
{
	struct frame f = {.addr = 0x1000 + (uint64_t)i * 16, .kind = FRAME_KERNEL};

	if (i == 4)
		f.kind = FRAME_UNMAPPED, f.addr = 0xdead;
	if (i == 5)
		f = (struct frame){.kind = FRAME_TRUNCATED};
	return f;
}

struct agent_fixture {
	struct profile *p;
	struct proc_table *t;
	struct frame_syms fs;
	struct frame_sym syms[NFRAMES];
	struct frame_line lines[NFRAMES];
	struct otlp_meta meta;
};

/* Builds the profile (sample times 100..700 ns, monotonic). Returns 0 or -1. */
static inline int agent_fixture__init(struct agent_fixture *fx)
{
	struct profile_opts po = {.keep_timestamps = true};
	struct frame st[NFRAMES];
	struct profile *p;

	memset(fx, 0, sizeof(*fx));
	fx->meta = (struct otlp_meta){.start_unix_ns = 1700000000000000000ULL,
				      .duration_ns = 10000000000ULL,
				      .period_ns = 10000000,
				      .mono_to_unix_ns = 1700000000000000000LL,
				      .kernel_build_id = "",
				      .agent_version = "test"};
	fx->p = p = profile__new(&po);
	fx->t = proc_table__new(NULL, NULL, NULL);
	if (!p || !fx->t)
		return -1;
	for (int i = 0; i < NFRAMES; i++)
		st[i] = make_frame(i);
	profile__add(p, 10, 10, "app", "t", 0, st, NFRAMES, 100);
	profile__add(p, 10, 11, "app", "t2", 0, st, NFRAMES, 200);
	profile__add(p, 10, 10, "app", "t", 0, st + 1, 3, 300);
	profile__add(p, 20, 20, "other", "x", 0, st + 2, 2, 400);
	profile__add(p, 20, 20, "other", "x", 0, st + 2, 2, 500);
	profile__add(p, 20, 20, "other", "x", 0, st + 2, 2, 600);
	profile__add(p, 30, 30, "third", "y", 0, st, 4, 700);
	for (uint32_t i = 0; i < NFRAMES; i++) {
		const char *name = frame_names[i];

		memset(&fx->lines[i], 0, sizeof(fx->lines[i]));
		fx->lines[i].name = profile__string(p, name, strlen(name));
		fx->lines[i].system_name = fx->lines[i].name;
		fx->syms[i].first_line = i;
		fx->syms[i].nlines = 1;
		fx->syms[i].symbolized = i != 4; /* the unmapped frame is a placeholder */
		fx->syms[i].kind = profile__frame(p, i)->kind;
	}
	fx->fs.frames.v = fx->syms;
	fx->fs.frames.len = NFRAMES;
	fx->fs.lines.v = fx->lines;
	fx->fs.lines.len = NFRAMES;
	return 0;
}

/* Appends the OTLP request of the fixture's profile to out. Returns 0 or -errno. */
static inline int agent_fixture__encode(struct agent_fixture *fx, struct buf *out)
{
	struct otlp_stats st;

	return otlp_encode(fx->p, &fx->fs, fx->t, &fx->meta, out, &st);
}

static inline void agent_fixture__free(struct agent_fixture *fx)
{
	proc_table__free(fx->t);
	profile__free(fx->p);
}

#endif
