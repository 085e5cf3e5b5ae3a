// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "../common/util.h"
#include "../profile/folded.h"
#include "../profile/pprof.h"

#define NONE UINT32_MAX

struct build {
	struct profile *p;
	const struct frame_syms *fs;
	struct proc_table *t;
	const struct output_meta *meta;
	struct svcdata *sd;
	uint32_t *locations; /* by frame id */
	uint32_t kernel_mapping;
	VEC(struct sd_line) lines;
	VEC(uint32_t) stack;
	bool oom;
};

static uint32_t str(struct build *b, const char *s)
{
	uint32_t id = svcdata__string(b->sd, s, strlen(s));

	b->oom |= id == NONE;
	return id;
}

static uint32_t pstr(struct build *b, uint32_t profile_string)
{
	return str(b, profile__str(b->p, profile_string));
}

/* The mapping of a frame, as the OTLP encoder writes it (the object's ELF address space). */
static uint32_t mapping(struct build *b, const struct frame *f)
{
	struct sd_mapping m = {0};
	struct object *o;

	if (f->kind == FRAME_KERNEL) {
		if (!b->kernel_mapping) {
			m.filename = str(b, "vmlinux");
			m.build_id =
				str(b, b->meta->kernel_build_id ? b->meta->kernel_build_id : "");
			b->kernel_mapping = svcdata__mapping(b->sd, &m);
		}
		return b->kernel_mapping;
	}
	if (f->kind != FRAME_USER)
		return 0;
	o = proc_table__object(b->t, f->obj_id);
	if (o) {
		m.filename = str(b, o->path);
		m.build_id = str(b, o->build_id);
		if (!o->elf_err)
			elf_info__range(&o->elf, &m.start, &m.limit, &m.offset);
	}
	return b->oom ? NONE : svcdata__mapping(b->sd, &m);
}

static const char *frame_type(struct build *b, const struct frame *f)
{
	struct object *o;

	switch (f->kind) {
	case FRAME_KERNEL:
		return "kernel";
	case FRAME_USER:
		o = proc_table__object(b->t, f->obj_id);
		return o && o->is_go ? "go" : "native";
	case FRAME_UNMAPPED:
		return "native";
	default:
		return "abort-marker";
	}
}

/* A location per frame: lines when it is named; a placeholder is its mapping and address. */
static void locations(struct build *b)
{
	size_t n = profile__nframes(b->p);

	b->locations = calloc(n ? n : 1, sizeof(*b->locations));
	b->oom |= !b->locations;
	for (size_t i = 0; i < n && !b->oom; i++) {
		const struct frame *f = profile__frame(b->p, (uint32_t)i);
		const struct frame_sym *sym = &b->fs->frames.v[i];
		struct sd_location l = {.address = f->addr};

		l.mapping = mapping(b, f);
		b->oom |= l.mapping == NONE;
		l.frame_type = str(b, frame_type(b, f));
		b->lines.len = 0;
		for (uint32_t k = 0; sym->symbolized && k < sym->nlines && !b->oom; k++) {
			const struct frame_line *fl = &b->fs->lines.v[sym->first_line + k];
			struct sd_function fn = {.name = pstr(b, fl->name),
						 .system_name = pstr(b, fl->system_name),
						 .filename = pstr(b, fl->file)};
			struct sd_line ln = {.line = fl->line};

			ln.function = b->oom ? NONE : svcdata__function(b->sd, &fn);
			b->oom |= ln.function == NONE || VEC_PUSH(&b->lines, ln);
		}
		l.nlines = (uint32_t)b->lines.len;
		if (b->oom)
			break;
		b->locations[i] = svcdata__location(b->sd, &l, b->lines.v);
		b->oom |= b->locations[i] == NONE;
	}
}

struct rows_ctx {
	struct build *b;
	uint32_t series, stack;
};

static void add_row(void *ctx, uint64_t ts)
{
	struct rows_ctx *c = ctx;
	uint64_t t = (uint64_t)((int64_t)ts + c->b->meta->mono_to_unix_ns);

	c->b->oom |= svcdata__row(c->b->sd, c->series, c->stack, t, 1) != 0;
}

/* The series of a sample: its process's labels but service.name, and its thread's. */
static uint32_t series(struct build *b, uint32_t type, const struct sample_agg *a)
{
	struct sd_label ls[SVC_MAX_LABELS];
	const struct label_ids *pairs;
	uint32_t npairs, proc_key = str(b, "process.executable.name");
	size_t n = 0;
	bool has_proc = false;
	char tid[16];

	pairs = profile__labelset_get(b->p, a->labels, &npairs);
	for (uint32_t i = 0; i < npairs && n < SVC_MAX_LABELS - 3; i++) {
		const char *key = profile__str(b->p, pairs[i].key);

		if (strcmp(key, "service.name") == 0)
			continue;
		ls[n++] = (struct sd_label){str(b, key), pstr(b, pairs[i].value)};
		has_proc |= ls[n - 1].key == proc_key;
	}
	if (!has_proc)
		ls[n++] = (struct sd_label){proc_key, pstr(b, a->proc_name)};
	snprintf(tid, sizeof(tid), "%u", a->tid);
	ls[n++] = (struct sd_label){str(b, "thread.name"), pstr(b, a->thread_name)};
	ls[n++] = (struct sd_label){str(b, "thread.id"), str(b, tid)};
	return b->oom ? NONE : svcdata__series(b->sd, type, ls, n);
}

static void samples(struct build *b)
{
	struct sd_type type = {.sample_type = str(b, "samples"),
			       .sample_unit = str(b, "count"),
			       .period_type = str(b, "cpu"),
			       .period_unit = str(b, "nanoseconds"),
			       .period = (int64_t)b->meta->period_ns};
	uint32_t type_id = b->oom ? NONE : svcdata__type(b->sd, &type);

	b->oom |= type_id == NONE;
	for (size_t i = 0; i < profile__nsamples(b->p) && !b->oom; i++) {
		const struct sample_agg *a = profile__sample(b->p, i);
		struct rows_ctx c = {.b = b, .series = series(b, type_id, a)};
		const uint32_t *ids;
		uint32_t n;

		ids = profile__stack(b->p, a->stack, &n);
		b->stack.len = 0;
		for (uint32_t k = 0; k < n && !b->oom; k++)
			b->oom |= VEC_PUSH(&b->stack, b->locations[ids[k]]) != 0;
		c.stack = b->oom ? NONE : svcdata__stack(b->sd, b->stack.v, b->stack.len);
		if (c.series == NONE || c.stack == NONE) {
			b->oom = true;
			break;
		}
		if (a->ts_count == a->count)
			profile__timestamps(b->p, a, add_row, &c);
		else
			b->oom |= svcdata__row(b->sd, c.series, c.stack, b->meta->start_unix_ns,
					       (int64_t)a->count) != 0;
	}
}

int output_model(struct profile *p, const struct frame_syms *fs, struct proc_table *t,
		 const struct output_meta *meta, struct svcdata *sd)
{
	struct build b = {.p = p, .fs = fs, .t = t, .meta = meta, .sd = sd};

	locations(&b);
	samples(&b);
	sd->profiles += !b.oom;
	free(b.locations);
	VEC_FREE(&b.lines);
	VEC_FREE(&b.stack);
	return b.oom ? -ENOMEM : 0;
}

static int render(struct profile *p, const struct frame_syms *fs, struct proc_table *t,
		  const struct output_meta *meta, int (*fn)(const struct svcdata *, struct buf *),
		  struct buf *out)
{
	struct svcdata *sd = svcdata__new("");
	int err = sd ? output_model(p, fs, t, meta, sd) : -ENOMEM;

	if (!err)
		err = fn(sd, out);
	svcdata__free(sd);
	return err;
}

int output_folded(struct profile *p, const struct frame_syms *fs, struct proc_table *t,
		  const struct output_meta *meta, struct buf *out)
{
	return render(p, fs, t, meta, folded_render, out);
}

int output_pprof(struct profile *p, const struct frame_syms *fs, struct proc_table *t,
		 const struct output_meta *meta, struct buf *out)
{
	return render(p, fs, t, meta, pprof_encode, out);
}
