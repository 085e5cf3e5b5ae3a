/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Processes and the files they map. A process's executable mappings come from /proc/PID/maps;
 * each mapped file becomes an object (shared by every process mapping the same file), opened
 * through /proc/PID/root so files in other mount namespaces and deleted files stay readable.
 */
#ifndef SONDE_PROC_H
#define SONDE_PROC_H

#include <stdbool.h>
#include <stdint.h>

#include "labels.h"
#include "unwind_table.h"
#include "../common/hash.h"
#include "../symbolizer/elf_file.h"
#include "../symbolizer/symbolizer.h"

enum object_kind {
	OBJECT_FILE = 0,
	OBJECT_VDSO,
	OBJECT_ANON, /* executable anonymous memory: JIT code, or unknown */
};

struct object {
	uint32_t id;	     /* index in the table; stable until the object is collected */
	uint32_t refs;	     /* mappings that point here */
	uint64_t last_epoch; /* last epoch a frame used this object */
	enum object_kind kind;
	uint64_t dev, ino;
	char *path;	  /* as the process sees it */
	const char *name; /* base name of path */
	int elf_err;	  /* 0 when elf is valid */
	struct elf_info elf;
	char build_id[2 * ELF_BUILD_ID_MAX + 1]; /* lowercase hex, "" if none */
	struct sym_module *module;		 /* NULL when the file is unreadable */
	struct unwind_entry *unwind; /* NULL without an unwind cache or a readable ELF file */
	bool is_go;		     /* has a Go pc-line table */
};

enum mapping_flags {
	MAPPING_BIAS_OK = 1u << 0, /* file offsets translate to ELF addresses */
};

struct mapping {
	uint64_t start, end; /* process addresses [start, end) */
	uint64_t pgoff;	     /* file offset of start */
	uint64_t bias;	     /* ELF address = process address - bias */
	struct object *obj;
	uint32_t flags;
};

/*
 * A process's executable mappings at one moment, sorted by address. Reference-counted: a sample
 * waiting for an unwind table keeps the mappings it was taken under, even after exec or exit.
 */
struct maps {
	uint32_t refs;
	uint32_t n;
	struct mapping v[];
};

/*
 * The address a frame shows for a process address in m: the ELF address of a file, or the
 * process address itself in anonymous memory (JIT code) or a file that is not ELF.
 */
static inline uint64_t mapping_addr(const struct mapping *m, uint64_t addr)
{
	return (m->flags & MAPPING_BIAS_OK) ? addr - m->bias : addr;
}

struct maps *maps__get(struct maps *m);
void maps__put(struct maps *m);
/* The mapping holding addr, or NULL. */
const struct mapping *maps__find(const struct maps *m, uint64_t addr);

struct proc {
	uint32_t pid;
	uint64_t start_time; /* boot-based ns, from the kernel; tells pid reuse apart */
	char comm[16];
	struct maps *maps;	    /* never NULL after creation; empty when unknown */
	struct proc_labels *labels; /* NULL without a labeler */
	uint64_t labels_gen;	    /* profile generation labelset belongs to */
	uint32_t labelset;
	bool maps_valid;       /* false after exec until re-read */
	bool gone;	       /* /proc/PID vanished while reading */
	uint64_t maps_read_ns; /* CLOCK_MONOTONIC of the last read */
	uint64_t refreshes;
};

struct proc_table_stats {
	uint64_t procs;
	uint64_t objects;
	uint64_t maps_reads;
	uint64_t maps_read_errors;
	uint64_t unmapped_addrs; /* addresses in no known mapping */
	uint64_t relabels;	 /* processes labelled again after their pod's metadata changed */
	uint64_t reaped;	 /* freed at the end of an epoch: gone without an exit record */
};

struct proc_table;

/*
 * sym may be NULL (no symbolization), unwind NULL (no unwind tables), labeler NULL (no
 * labels). Returns NULL with errno set.
 */
struct proc_table *proc_table__new(struct symbolizer *sym, struct unwind_cache *unwind,
				   struct labeler *labeler);
void proc_table__free(struct proc_table *t);

/*
 * The process pid, creating it and reading its mappings when new (create) or when its mappings
 * are stale. Returns NULL when unknown and !create, or when out of memory.
 */
struct proc *proc_table__get(struct proc_table *t, uint32_t pid, bool create);
/* Exec: the old image's mappings are dropped and the new ones read at once. */
void proc_table__exec(struct proc_table *t, uint32_t pid);
/*
 * When the labeler's generation has moved since the last call (pod metadata arrived or changed),
 * labels again every process whose pod metadata changed since its labels were made (counted in
 * stats.relabels). Cheap otherwise: call it often.
 */
void proc_table__relabel(struct proc_table *t);
/* Exit: frees the process (its objects stay while frames refer to them). */
void proc_table__exit(struct proc_table *t, uint32_t pid);

/*
 * The mapping holding addr. If none is known, re-reads /proc/PID/maps (at most every
 * min_refresh_ns) and tries again. Returns NULL when the address is in no executable mapping.
 */
const struct mapping *proc_table__resolve(struct proc_table *t, struct proc *p, uint64_t addr,
					  uint64_t min_refresh_ns);

struct object *proc_table__object(const struct proc_table *t, uint32_t id);
/* Marks obj as used in the current epoch (frames of the profile being built refer to it). */
void proc_table__use_object(struct proc_table *t, struct object *obj);
/*
 * Ends an epoch: frees processes that no longer exist (their exit record was lost), then objects
 * no mapping and no frame of the ended epoch refers to.
 */
void proc_table__end_epoch(struct proc_table *t);
void proc_table__stats(const struct proc_table *t, struct proc_table_stats *ret);

/* Parses one /proc/PID/maps line. Returns 0 or -EINVAL. path points into line. */
struct maps_line {
	uint64_t start, end, pgoff, dev, ino;
	char perms[5];
	const char *path;
};
int parse_maps_line(char *line, struct maps_line *ret);

#endif
