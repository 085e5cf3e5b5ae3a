/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Names for the frames of a profile: each distinct frame is symbolized once per output, into
 * lines (innermost inlined function first) whose strings live in the profile's string table.
 */
#ifndef SONDE_FRAMES_H
#define SONDE_FRAMES_H

#include <stdint.h>

#include "profile.h"
#include "proc.h"
#include "../symbolizer/symbolizer.h"

struct frame_line {
	uint32_t name;	      /* display name (string id) */
	uint32_t system_name; /* raw (mangled) name */
	uint32_t file;	      /* 0 = unknown */
	uint32_t line;
};

struct frame_sym {
	uint32_t first_line;
	uint16_t nlines;
	uint8_t symbolized; /* 0: the name is a [module+0xaddr] placeholder */
	uint8_t kind;	    /* enum frame_kind */
};

struct frame_syms {
	VEC(struct frame_sym) frames; /* by frame id */
	VEC(struct frame_line) lines;
	uint64_t symbolized;
	uint64_t unsymbolized;
	uint64_t pending; /* of those, symbols still loading: named in a later output */
};

/* sym may be NULL: then every user frame keeps its placeholder name. Returns 0 or -ENOMEM. */
int frame_syms__build(struct frame_syms *fs, struct profile *p, struct proc_table *t,
		      struct symbolizer *sym);
void frame_syms__free(struct frame_syms *fs);

#endif
