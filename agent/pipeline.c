// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline.h"
#include "../common/util.h"

#define MAPS_REFRESH_NS (50 * 1000 * 1000ull) /* re-read /proc/PID/maps at most this often */
#define MAX_USER_FRAMES 512		      /* user frames kept per stack (DWARF unwinding) */
#define MAX_FRAMES (SONDE_MAX_KSTACK + MAX_USER_FRAMES + 2)

/* A sample waiting for an unwind table, with the mappings and labels it was taken under. */
struct parked {
	struct parked *next;
	struct maps *maps;
	struct proc_labels *labels;
	size_t size;
	uint8_t rec[];
};

struct pipeline {
	struct proc_table *procs;
	struct unwind_cache *unwind;
	struct profile *profile;
	uint64_t max_parked_bytes;
	struct parked *parked_head, **parked_tail;
	uint64_t parked_bytes;
	uint64_t nparked;
	struct pipeline_stats s;
};

struct pipeline *pipeline__new(const struct pipeline_opts *opts)
{
	struct pipeline *pl = calloc(1, sizeof(*pl));

	if (!pl)
		return NULL;
	pl->procs = opts->procs;
	pl->unwind = opts->unwind;
	pl->profile = opts->profile;
	pl->max_parked_bytes = opts->max_parked_bytes;
	pl->parked_tail = &pl->parked_head;
	return pl;
}

/* Drops the parked samples. */
static void drop_parked(struct pipeline *pl)
{
	struct parked *pk, *next;

	for (pk = pl->parked_head; pk; pk = next) {
		next = pk->next;
		maps__put(pk->maps);
		proc_labels__put(pk->labels);
		free(pk);
	}
	pl->parked_head = NULL;
	pl->parked_tail = &pl->parked_head;
	pl->parked_bytes = 0;
	pl->nparked = 0;
}

void pipeline__free(struct pipeline *pl)
{
	if (!pl)
		return;
	drop_parked(pl);
	free(pl);
}

bool pipeline__has_parked(const struct pipeline *pl)
{
	return pl->parked_head != NULL;
}

void pipeline__stats(const struct pipeline *pl, struct pipeline_stats *ret)
{
	*ret = pl->s;
	ret->parked = pl->nparked;
	ret->parked_bytes = pl->parked_bytes;
}

/* Frame-pointer frames from the in-kernel walk (no stack copy). */
static uint32_t fp_frames(struct pipeline *pl, const struct sonde_sample *s, struct proc *p,
			  struct frame *frames)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < s->ustack_len; i++) {
		uint64_t addr = s->ustack[i] - (i > 0);
		const struct mapping *m = proc_table__resolve(pl->procs, p, addr, MAPS_REFRESH_NS);
		struct frame *f = &frames[n++];

		memset(f, 0, sizeof(*f));
		if (m) {
			f->kind = FRAME_USER;
			f->obj_id = m->obj->id;
			f->addr = mapping_addr(m, addr);
			proc_table__use_object(pl->procs, m->obj);
		} else {
			f->kind = FRAME_UNMAPPED;
			f->addr = addr;
		}
	}
	if (s->ustack_len == SONDE_MAX_USTACK) {
		memset(&frames[n], 0, sizeof(frames[n]));
		frames[n++].kind = FRAME_TRUNCATED;
	}
	return n;
}

static void park(struct pipeline *pl, const struct sonde_sample *s, size_t size, struct maps *maps,
		 struct proc_labels *labels)
{
	struct parked *pk = malloc(sizeof(*pk) + size);

	if (!pk) {
		pl->s.parked_dropped++;
		return;
	}
	pk->next = NULL;
	pk->maps = maps__get(maps);
	pk->labels = proc_labels__get(labels);
	pk->size = size;
	memcpy(pk->rec, s, size);
	*pl->parked_tail = pk;
	pl->parked_tail = &pk->next;
	pl->parked_bytes += size;
	pl->nparked++;
}

/* The label set id of a process's labels in the current profile, cached per process. */
static uint32_t labelset_of(struct pipeline *pl, struct proc *p)
{
	uint64_t gen = profile__generation(pl->profile);

	if (!p)
		return 0;
	if (p->labels_gen != gen) {
		p->labelset = profile__labelset(pl->profile, p->labels);
		if (p->labelset == UINT32_MAX)
			p->labelset = 0;
		p->labels_gen = gen;
	}
	return p->labelset;
}

/*
 * Builds the sample's stack and adds it to the profile. With maps == NULL the process's current
 * mappings (and labels) are used; a sample whose unwind table is not built yet is parked (when
 * allowed) and UNWIND_PENDING returned.
 */
static enum unwind_status add_sample(struct pipeline *pl, const struct sonde_sample *s, size_t size,
				     struct maps *maps, struct proc_labels *labels, bool may_park)
{
	struct frame frames[MAX_FRAMES + 1];
	enum unwind_status st = UNWIND_NO_USER;
	uint32_t n = 0, k = 0, labelset = 0;
	struct proc *p = NULL;

	for (uint32_t i = 0; i < s->kstack_len; i++) {
		struct frame *f = &frames[n++];

		memset(f, 0, sizeof(*f));
		f->kind = FRAME_KERNEL;
		/* return addresses point after the call: step back into it */
		f->addr = s->kstack[i] - (i > 0);
	}
	if (!(s->flags & SONDE_SAMPLE_KTHREAD) && (s->flags & SONDE_SAMPLE_USER_REGS)) {
		if (!maps) {
			/* an exiting thread's process may be reported gone already: not re-created
			 */
			p = proc_table__get(pl->procs, s->pid, !(s->flags & SONDE_SAMPLE_EXITING));
			maps = p ? p->maps : NULL;
			labels = p ? p->labels : NULL;
			if (labels && labels->dropped) {
				/* a relabel rule drops this process: not even unwound */
				pl->s.relabel_dropped++;
				return UNWIND_NO_USER;
			}
			labelset = labelset_of(pl, p);
		} else {
			labelset = profile__labelset(pl->profile, labels);
			if (labelset == UINT32_MAX)
				labelset = 0;
		}
		if (s->stack_bytes && maps) {
			uint64_t t0 = clock_ns(CLOCK_MONOTONIC);

			st = unwind_user(pl->unwind, pl->procs, maps, s, frames + n,
					 MAX_USER_FRAMES, &k);
			if (st == UNWIND_ERR_UNMAPPED && p && k == 1 &&
			    proc_table__resolve(pl->procs, p, s->regs.ip, MAPS_REFRESH_NS)) {
				/* the leaf is in a library mapped since we last read the maps */
				maps = p->maps;
				st = unwind_user(pl->unwind, pl->procs, maps, s, frames + n,
						 MAX_USER_FRAMES, &k);
			}
			pl->s.unwind_ns += clock_ns(CLOCK_MONOTONIC) - t0;
			pl->s.unwind_calls++;
			pl->s.stack_copy_bytes += s->stack_bytes;
			if (st == UNWIND_PENDING && may_park) {
				if (pl->parked_bytes + size <= pl->max_parked_bytes) {
					park(pl, s, size, maps, labels);
					return st;
				}
				pl->s.parked_dropped++;
			}
			if (st == UNWIND_PENDING) {
				/* no table in time: keep what we have, marked */
				memset(&frames[n + k], 0, sizeof(frames[0]));
				frames[n + k].kind = FRAME_UNWIND_ERROR;
				frames[n + k].addr = st;
				k++;
			}
			n += k;
		} else if (p) {
			n += fp_frames(pl, s, p, frames + n);
			st = s->ustack_len ? UNWIND_COMPLETE : UNWIND_NO_USER;
		}
		pl->s.user_frames += k;
	}
	pl->s.unwind_status[st]++;
	if (profile__add(pl->profile, s->pid, s->tid, s->pcomm, s->comm, labelset, frames, n,
			 s->time_ns))
		pl->s.samples_dropped++;
	else
		pl->s.samples_kept++;
	return st;
}

static void handle_sample(struct pipeline *pl, const struct sonde_sample *s, size_t size)
{
	if (size < sizeof(*s) || s->kstack_len > SONDE_MAX_KSTACK ||
	    s->ustack_len > SONDE_MAX_USTACK || s->stack_bytes > size - sizeof(*s)) {
		pl->s.bad_records++;
		return;
	}
	add_sample(pl, s, size, NULL, NULL, true);
}

/* Retries parked samples once tables have been built; with final, nothing stays parked. */
void pipeline__retry_parked(struct pipeline *pl, bool final)
{
	struct parked *list = pl->parked_head, *pk, *next;

	pl->parked_head = NULL;
	pl->parked_tail = &pl->parked_head;
	pl->parked_bytes = 0;
	pl->nparked = 0;
	for (pk = list; pk; pk = next) {
		next = pk->next;
		/* a sample still pending is parked again, as a new copy */
		add_sample(pl, (const struct sonde_sample *)pk->rec, pk->size, pk->maps, pk->labels,
			   !final);
		maps__put(pk->maps);
		proc_labels__put(pk->labels);
		free(pk);
	}
}

int pipeline__handle_record(void *ctx, const void *data, size_t size)
{
	struct pipeline *pl = ctx;
	const struct sonde_rec_hdr *h = data;
	const struct sonde_proc_event *e = data;

	if (size < sizeof(*h)) {
		pl->s.bad_records++;
		return 0;
	}
	switch (h->type) {
	case SONDE_REC_SAMPLE:
		handle_sample(pl, data, size);
		break;
	case SONDE_REC_NEWPROC:
		/* read the mappings now, while a short-lived process is still alive */
		if (size >= sizeof(*e))
			proc_table__get(pl->procs, e->pid, true);
		break;
	case SONDE_REC_EXEC:
		if (size >= sizeof(*e))
			proc_table__exec(pl->procs, e->pid);
		break;
	case SONDE_REC_EXIT:
		if (size >= sizeof(*e))
			proc_table__exit(pl->procs, e->pid);
		break;
	default:
		pl->s.bad_records++;
	}
	return 0;
}
