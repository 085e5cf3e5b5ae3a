// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "pprof/profile.pb-c.h"
#include "../common/hash.h"
#include "../common/strtab.h"
#include "../common/util.h"

static void append_name(struct buf *b, const char *s)
{
	/* ';' separates frames and a newline ends the line: neither may appear in a name */
	for (; *s; s++)
		buf_putc(b, (*s == ';' || *s == '\n') ? ':' : (uint8_t)*s);
}

struct folded {
	struct strtab lines;  /* distinct lines, without counts */
	VEC(uint64_t) counts; /* by line id */
};

static const struct strtab *sort_ctx;

static int line_cmp(const void *a, const void *b)
{
	return strcmp(strtab_get(sort_ctx, *(const uint32_t *)a),
		      strtab_get(sort_ctx, *(const uint32_t *)b));
}

int output_folded(struct profile *p, const struct frame_syms *fs, struct buf *out)
{
	struct folded f = {0};
	struct buf line = {0};
	uint32_t *order = NULL;
	int err = 0;

	for (size_t i = 0; i < profile__nsamples(p); i++) {
		const struct sample_agg *s = profile__sample(p, i);
		const uint32_t *ids;
		uint32_t n, id;

		buf_reset(&line);
		append_name(&line, profile__str(p, s->proc_name));
		ids = profile__stack(p, s->stack, &n);
		for (uint32_t j = n; j-- > 0;) {
			const struct frame_sym *sym = &fs->frames.v[ids[j]];

			for (uint32_t l = sym->nlines; l-- > 0;) {
				const struct frame_line *fl = &fs->lines.v[sym->first_line + l];

				buf_putc(&line, ';');
				append_name(&line, profile__str(p, fl->name));
				if (sym->kind == FRAME_KERNEL)
					buf_puts(&line, "_[k]");
			}
		}
		id = strtab_intern(&f.lines, (const char *)line.data, line.len);
		if (line.oom || id == STRTAB_NONE) {
			err = -ENOMEM;
			goto cleanup;
		}
		while (f.counts.len <= id) {
			if (VEC_PUSH(&f.counts, 0)) {
				err = -ENOMEM;
				goto cleanup;
			}
		}
		f.counts.v[id] += s->count;
	}
	order = malloc((strtab_count(&f.lines) + 1) * sizeof(*order));
	if (!order) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < strtab_count(&f.lines); i++)
		order[i] = (uint32_t)i;
	sort_ctx = &f.lines;
	qsort(order, strtab_count(&f.lines), sizeof(*order), line_cmp);
	for (size_t i = 0; i < strtab_count(&f.lines); i++)
		buf_printf(out, "%s %llu\n", strtab_get(&f.lines, order[i]),
			   (unsigned long long)f.counts.v[order[i]]);
	if (out->oom)
		err = -ENOMEM;
cleanup:
	free(order);
	buf_free(&line);
	strtab_free(&f.lines);
	VEC_FREE(&f.counts);
	return err;
}

/* pprof functions are unique by (name, system name, file). */
struct func_key {
	uint32_t name, system_name, file;
};

struct pprof_funcs {
	VEC(struct func_key) keys;
	struct itab idx;
};

static bool func_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct pprof_funcs *pf = ctx;

	return memcmp(&pf->keys.v[idx], key, sizeof(struct func_key)) == 0;
}

static int64_t func_id(struct pprof_funcs *pf, const struct frame_line *l)
{
	struct func_key k = {l->name, l->system_name, l->file};
	uint64_t h = hash_bytes(&k, sizeof(k), 13);
	int64_t idx = itab_find(&pf->idx, h, func_eq, pf, &k);

	if (idx >= 0)
		return idx + 1;
	idx = (int64_t)pf->keys.len;
	if (VEC_PUSH(&pf->keys, k) || itab_add(&pf->idx, h, (uint32_t)idx))
		return -ENOMEM;
	return idx + 1;
}

int output_pprof(struct profile *p, const struct frame_syms *fs, struct proc_table *t,
		 const struct output_meta *meta, struct buf *out)
{
	Perftools__Profiles__Profile prof = PERFTOOLS__PROFILES__PROFILE__INIT;
	Perftools__Profiles__ValueType st[2], pt = PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
	Perftools__Profiles__ValueType *stp[2] = {&st[0], &st[1]};
	Perftools__Profiles__Sample *samples = NULL, **samplep = NULL;
	Perftools__Profiles__Label *labels = NULL, **labelp = NULL;
	Perftools__Profiles__Location *locs = NULL, **locp = NULL;
	Perftools__Profiles__Line *lines = NULL, **linep = NULL;
	Perftools__Profiles__Function *funcs = NULL, **funcp = NULL;
	Perftools__Profiles__Mapping *maps = NULL, **mapp = NULL;
	uint64_t *loc_ids = NULL;
	int64_t *values = NULL;
	uint32_t *map_of_obj = NULL;
	char **strings = NULL;
	struct pprof_funcs pf = {0};
	size_t nframes = profile__nframes(p), nsamples = profile__nsamples(p), nmaps = 0;
	size_t nstr, nloc_ids = 0, packed_len;
	uint32_t s_samples, s_count, s_cpu, s_ns, s_pid, s_tid, s_process, s_thread, max_obj = 0;
	uint8_t *packed = NULL;
	int err = 0;

	s_samples = profile__string(p, "samples", 7);
	s_count = profile__string(p, "count", 5);
	s_cpu = profile__string(p, "cpu", 3);
	s_ns = profile__string(p, "nanoseconds", 11);
	s_pid = profile__string(p, "pid", 3);
	s_tid = profile__string(p, "tid", 3);
	s_process = profile__string(p, "process", 7);
	s_thread = profile__string(p, "thread", 6);
	if (s_samples == UINT32_MAX || s_count == UINT32_MAX || s_cpu == UINT32_MAX ||
	    s_ns == UINT32_MAX || s_pid == UINT32_MAX || s_tid == UINT32_MAX ||
	    s_process == UINT32_MAX || s_thread == UINT32_MAX)
		return -ENOMEM;

	for (size_t i = 0; i < nframes; i++) {
		const struct frame *f = profile__frame(p, (uint32_t)i);

		if (f->kind == FRAME_USER && f->obj_id + 1 > max_obj)
			max_obj = f->obj_id + 1;
	}
	map_of_obj = calloc(max_obj + 1, sizeof(*map_of_obj));
	maps = calloc(max_obj + 1, sizeof(*maps));
	mapp = calloc(max_obj + 1, sizeof(*mapp));
	locs = calloc(nframes + 1, sizeof(*locs));
	locp = calloc(nframes + 1, sizeof(*locp));
	lines = calloc(fs->lines.len + 1, sizeof(*lines));
	linep = calloc(fs->lines.len + 1, sizeof(*linep));
	funcs = calloc(fs->lines.len + 1, sizeof(*funcs));
	funcp = calloc(fs->lines.len + 1, sizeof(*funcp));
	samples = calloc(nsamples + 1, sizeof(*samples));
	samplep = calloc(nsamples + 1, sizeof(*samplep));
	labels = calloc(4 * nsamples + 1, sizeof(*labels));
	labelp = calloc(4 * nsamples + 1, sizeof(*labelp));
	values = calloc(2 * nsamples + 1, sizeof(*values));
	for (size_t i = 0; i < nsamples; i++) {
		uint32_t n;

		profile__stack(p, profile__sample(p, i)->stack, &n);
		nloc_ids += n;
	}
	loc_ids = calloc(nloc_ids + 1, sizeof(*loc_ids));
	if (!map_of_obj || !maps || !mapp || !locs || !locp || !lines || !linep || !funcs ||
	    !funcp || !samples || !samplep || !labels || !labelp || !values || !loc_ids) {
		err = -ENOMEM;
		goto cleanup;
	}

	/* mappings, in the objects' ELF address space */
	for (size_t i = 0; i < nframes; i++) {
		const struct frame *f = profile__frame(p, (uint32_t)i);
		Perftools__Profiles__Mapping *m;
		struct object *obj;

		if (f->kind != FRAME_USER || map_of_obj[f->obj_id])
			continue;
		obj = proc_table__object(t, f->obj_id);
		m = &maps[nmaps];
		perftools__profiles__mapping__init(m);
		m->id = nmaps + 1;
		if (obj) {
			m->filename = profile__string(p, obj->path, strlen(obj->path));
			m->build_id = profile__string(p, obj->build_id, strlen(obj->build_id));
			if (!obj->elf_err)
				elf_info__range(&obj->elf, &m->memory_start, &m->memory_limit,
						&m->file_offset);
			if (m->filename == UINT32_MAX || m->build_id == UINT32_MAX) {
				err = -ENOMEM;
				goto cleanup;
			}
		}
		m->has_functions = true;
		mapp[nmaps++] = m;
		map_of_obj[f->obj_id] = (uint32_t)nmaps;
	}

	/* one location per distinct frame; its lines innermost first, as pprof wants */
	for (size_t i = 0; i < nframes; i++) {
		const struct frame *f = profile__frame(p, (uint32_t)i);
		const struct frame_sym *sym = &fs->frames.v[i];
		Perftools__Profiles__Location *l = &locs[i];

		perftools__profiles__location__init(l);
		l->id = i + 1;
		l->address = f->addr;
		if (f->kind == FRAME_USER)
			l->mapping_id = map_of_obj[f->obj_id];
		l->n_line = sym->nlines;
		l->line = &linep[sym->first_line];
		for (uint32_t k = 0; k < sym->nlines; k++) {
			const struct frame_line *fl = &fs->lines.v[sym->first_line + k];
			Perftools__Profiles__Line *ln = &lines[sym->first_line + k];
			struct frame_line shown = *fl;
			int64_t fid;

			if (f->kind == FRAME_KERNEL) {
				/* pprof has no frame kinds: mark kernel functions the way perf does
				 */
				char name[1024];

				snprintf(name, sizeof(name), "%s_[k]", profile__str(p, fl->name));
				shown.name = shown.system_name =
					profile__string(p, name, strlen(name));
				if (shown.name == UINT32_MAX) {
					err = -ENOMEM;
					goto cleanup;
				}
			}
			fid = func_id(&pf, &shown);
			if (fid < 0) {
				err = -ENOMEM;
				goto cleanup;
			}
			perftools__profiles__line__init(ln);
			ln->function_id = (uint64_t)fid;
			ln->line = fl->line;
			linep[sym->first_line + k] = ln;
		}
		locp[i] = l;
	}
	for (size_t i = 0; i < pf.keys.len; i++) {
		perftools__profiles__function__init(&funcs[i]);
		funcs[i].id = i + 1;
		funcs[i].name = pf.keys.v[i].name;
		funcs[i].system_name = pf.keys.v[i].system_name;
		funcs[i].filename = pf.keys.v[i].file;
		funcp[i] = &funcs[i];
	}

	nloc_ids = 0;
	for (size_t i = 0; i < nsamples; i++) {
		const struct sample_agg *a = profile__sample(p, i);
		Perftools__Profiles__Sample *s = &samples[i];
		Perftools__Profiles__Label *lb = &labels[4 * i];
		const uint32_t *ids;
		uint32_t n;

		perftools__profiles__sample__init(s);
		ids = profile__stack(p, a->stack, &n);
		s->location_id = &loc_ids[nloc_ids];
		for (uint32_t k = 0; k < n; k++)
			loc_ids[nloc_ids++] = ids[k] + 1;
		s->n_location_id = n;
		values[2 * i] = (int64_t)a->count;
		values[2 * i + 1] = (int64_t)(a->count * meta->period_ns);
		s->value = &values[2 * i];
		s->n_value = 2;
		for (int k = 0; k < 4; k++) {
			perftools__profiles__label__init(&lb[k]);
			labelp[4 * i + k] = &lb[k];
		}
		lb[0].key = s_pid;
		lb[0].num = a->pid;
		lb[1].key = s_tid;
		lb[1].num = a->tid;
		lb[2].key = s_process;
		lb[2].str = a->proc_name;
		lb[3].key = s_thread;
		lb[3].str = a->thread_name;
		s->label = &labelp[4 * i];
		s->n_label = 4;
		samplep[i] = s;
	}

	/* the profile's string table is pprof's: index 0 is "" */
	nstr = profile__nstrings(p);
	strings = calloc(nstr + 1, sizeof(*strings));
	if (!strings) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < nstr; i++)
		strings[i] = (char *)profile__str(p, (uint32_t)i);

	perftools__profiles__value_type__init(&st[0]);
	perftools__profiles__value_type__init(&st[1]);
	st[0].type = s_samples;
	st[0].unit = s_count;
	st[1].type = s_cpu;
	st[1].unit = s_ns;
	pt.type = s_cpu;
	pt.unit = s_ns;
	prof.sample_type = stp;
	prof.n_sample_type = 2;
	prof.sample = samplep;
	prof.n_sample = nsamples;
	prof.mapping = mapp;
	prof.n_mapping = nmaps;
	prof.location = locp;
	prof.n_location = nframes;
	prof.function = funcp;
	prof.n_function = pf.keys.len;
	prof.string_table = strings;
	prof.n_string_table = nstr;
	prof.time_nanos = (int64_t)meta->start_unix_ns;
	prof.duration_nanos = (int64_t)meta->duration_ns;
	prof.period_type = &pt;
	prof.period = (int64_t)meta->period_ns;

	packed_len = perftools__profiles__profile__get_packed_size(&prof);
	packed = malloc(packed_len + 1);
	if (!packed) {
		err = -ENOMEM;
		goto cleanup;
	}
	perftools__profiles__profile__pack(&prof, packed);
	err = gzip_append(packed, packed_len, out);
cleanup:
	free(packed);
	free(strings);
	free(map_of_obj);
	free(maps);
	free(mapp);
	free(locs);
	free(locp);
	free(lines);
	free(linep);
	free(funcs);
	free(funcp);
	free(samples);
	free(samplep);
	free(labels);
	free(labelp);
	free(values);
	free(loc_ids);
	VEC_FREE(&pf.keys);
	itab_free(&pf.idx);
	return err;
}
