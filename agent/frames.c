// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frames.h"

static uint32_t intern(struct profile *p, const char *s)
{
	return s ? profile__string(p, s, strlen(s)) : 0;
}

static int add_placeholder(struct frame_syms *fs, struct profile *p, struct frame_sym *out,
			   const char *module, uint64_t addr)
{
	struct frame_line l = {0};
	char name[300];

	snprintf(name, sizeof(name), "[%s+0x%llx]", module, (unsigned long long)addr);
	l.name = l.system_name = intern(p, name);
	if (l.name == UINT32_MAX || VEC_PUSH(&fs->lines, l))
		return -ENOMEM;
	out->nlines = 1;
	out->symbolized = 0;
	fs->unsymbolized++;
	return 0;
}

static int add_marker(struct frame_syms *fs, struct profile *p, struct frame_sym *out,
		      const char *name)
{
	struct frame_line l = {0};

	l.name = l.system_name = intern(p, name);
	if (l.name == UINT32_MAX || VEC_PUSH(&fs->lines, l))
		return -ENOMEM;
	out->nlines = 1;
	out->symbolized = 1;
	return 0;
}

static int add_result(struct frame_syms *fs, struct profile *p, struct frame_sym *out,
		      const struct sym_result *r)
{
	for (uint32_t i = 0; i < r->nframes; i++) {
		const struct sym_frame *f = &r->frames[i];
		struct frame_line l;

		l.name = intern(p, f->name);
		l.system_name = intern(p, f->raw_name ? f->raw_name : f->name);
		l.file = intern(p, f->file);
		l.line = f->line;
		if (l.name == UINT32_MAX || l.system_name == UINT32_MAX || l.file == UINT32_MAX ||
		    VEC_PUSH(&fs->lines, l))
			return -ENOMEM;
	}
	out->nlines = (uint16_t)r->nframes;
	out->symbolized = 1;
	fs->symbolized++;
	return 0;
}

int frame_syms__build(struct frame_syms *fs, struct profile *p, struct proc_table *t,
		      struct symbolizer *sym)
{
	struct sym_result *r = malloc(sizeof(*r));
	size_t n = profile__nframes(p);
	int err = 0;

	if (!r)
		return -ENOMEM;
	fs->frames.len = 0;
	fs->lines.len = 0;
	if (VEC_RESERVE(&fs->frames, n)) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n && !err; i++) {
		const struct frame *f = profile__frame(p, (uint32_t)i);
		struct frame_sym *out = &fs->frames.v[fs->frames.len++];
		struct object *obj;

		memset(out, 0, sizeof(*out));
		out->first_line = (uint32_t)fs->lines.len;
		out->kind = f->kind;
		switch (f->kind) {
		case FRAME_KERNEL:
			if (sym && symbolizer__lookup_kernel(sym, f->addr, r) == 0)
				err = add_result(fs, p, out, r);
			else
				err = add_placeholder(fs, p, out, "kernel", f->addr);
			break;
		case FRAME_USER: {
			int lerr = -ENOENT;

			obj = proc_table__object(t, f->obj_id);
			if (sym && obj && obj->module)
				lerr = symbolizer__lookup(sym, obj->module, f->addr, r);
			if (lerr == 0) {
				err = add_result(fs, p, out, r);
			} else {
				/* kept as [module+0xADDR], named once its symbols arrive */
				fs->pending += lerr == -EAGAIN;
				err = add_placeholder(fs, p, out, obj ? obj->name : "unknown",
						      f->addr);
			}
			break;
		}
		case FRAME_UNMAPPED:
			err = add_placeholder(fs, p, out, "unknown", f->addr);
			break;
		case FRAME_TRUNCATED:
			err = add_marker(fs, p, out, "[truncated]");
			break;
		default:
			/* unwinding stopped where it could not go on: the rest is unknown */
			err = add_marker(fs, p, out, "[unknown]");
			break;
		}
	}
out:
	free(r);
	return err;
}

void frame_syms__free(struct frame_syms *fs)
{
	VEC_FREE(&fs->frames);
	VEC_FREE(&fs->lines);
}
