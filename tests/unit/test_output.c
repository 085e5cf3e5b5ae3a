// SPDX-License-Identifier: Apache-2.0
/* agent/output.c: the folded output. */

#include "unit.h"
#include "../../agent/output.h"

static struct frame kf(uint64_t addr)
{
	struct frame f = {.addr = addr, .kind = FRAME_KERNEL};

	return f;
}

static void test_folded_output(void)
{
	struct profile *p = profile__new(NULL);
	struct frame_syms fs = {0};
	struct buf out = {0};
	/* leaf first: kernel leaf, kernel caller, then an unmapped user frame, then a marker */
	struct frame st[4] = {kf(0x2),
			      kf(0x1),
			      {.addr = 0xdead, .kind = FRAME_UNMAPPED},
			      {.kind = FRAME_TRUNCATED}};
	struct frame_sym syms[4];
	struct frame_line lines[4];
	struct output_meta meta = {.start_unix_ns = 1, .period_ns = 10000000};

	profile__add(p, 10, 10, "my;proc", "t", 0, st, 4, 0);
	profile__add(p, 11, 11, "my;proc", "t", 0, st, 4, 0); /* another pid, same name: merged */
	profile__add(p, 12, 12, "zeta", "t", 0, st + 1, 3, 0);
	/* hand-made names, as frame_syms__build would make them */
	for (int i = 0; i < 4; i++) {
		const char *names[] = {"leaf_fn", "caller_fn", "[unknown+0xdead]", "[truncated]"};

		memset(&lines[i], 0, sizeof(lines[i]));
		lines[i].name = profile__string(p, names[i], strlen(names[i]));
		memset(&syms[i], 0, sizeof(syms[i]));
		syms[i].first_line = (uint32_t)i;
		syms[i].nlines = 1;
		syms[i].symbolized = i != 2; /* the placeholder is its mapping and address */
		syms[i].kind = profile__frame(p, (uint32_t)i)->kind;
	}
	fs.frames.v = syms;
	fs.frames.len = 4;
	fs.lines.v = lines;
	fs.lines.len = 4;
	CHECK(output_folded(p, &fs, NULL, &meta, &out) == 0);
	CHECK_STR(buf_cstr(&out),
		  "my:proc;[truncated];[unknown+0xdead];caller_fn_[k];leaf_fn_[k] 2\n"
		  "zeta;[truncated];[unknown+0xdead];caller_fn_[k] 1\n");
	buf_free(&out);
	profile__free(p);
}

int main(void)
{
	RUN(test_folded_output);
	return unit_done();
}
