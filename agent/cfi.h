/* SPDX-License-Identifier: Apache-2.0 */
/*
 * DWARF call frame information (.eh_frame, .debug_frame) for x86-64, reduced to what unwinding
 * needs: where the CFA is, where the caller's RBP and return address were saved.
 *
 * cfi_parse() walks every FDE of a section, runs its CFA program, and reports one row per
 * address range with a constant rule. Everything is bounds-checked: malformed input ends the
 * entry (or the section) with an error count, never a read out of bounds.
 */
#ifndef SONDE_CFI_H
#define SONDE_CFI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* x86-64 DWARF register numbers */
#define DWARF_REG_RBP 6
#define DWARF_REG_RSP 7
#define DWARF_REG_RA 16
#define DWARF_NREGS 17

enum cfa_kind {
	CFA_NONE = 0,  /* no unwind information here */
	CFA_REG,       /* CFA = reg + off (RSP, RBP, or another register known only at the leaf) */
	CFA_DEREF_REG, /* CFA = *(reg + off): stack realignment (DW_OP_bregN off; DW_OP_deref) */
	CFA_PLT,       /* the PLT rule: CFA = RSP + 8 + ((RIP & 15) >= off ? 8 : 0) */
	CFA_UNSUPPORTED, /* an expression we do not evaluate */
};

enum saved_kind {
	SAVED_SAME = 0,	 /* the caller's value is this frame's value (not saved) */
	SAVED_AT_CFA,	 /* saved at CFA + off */
	SAVED_AT_REG,	 /* saved at reg + off (DW_CFA_expression: DW_OP_bregN off) */
	SAVED_UNDEFINED, /* no caller value: for the return address, the end of the stack */
	SAVED_UNSUPPORTED,
};

struct cfi_rule {
	uint8_t cfa_kind; /* enum cfa_kind */
	uint8_t cfa_reg;
	uint8_t rbp_kind; /* enum saved_kind */
	uint8_t rbp_reg;
	uint8_t ra_kind; /* enum saved_kind */
	uint8_t signal;	 /* a signal trampoline: registers come from the ucontext on the stack */
	int16_t rbp_off;
	int32_t cfa_off;
	int16_t ra_off;
	int16_t pad;
};

_Static_assert(sizeof(struct cfi_rule) == 16, "cfi_rule is hashed as bytes");

/* One row: rule applies to addresses [start, end). Return non-zero to stop the walk. */
typedef int (*cfi_row_fn)(void *ctx, uint64_t start, uint64_t end, const struct cfi_rule *rule);

struct cfi_section {
	const uint8_t *data;
	size_t size;
	uint64_t addr;	    /* the section's address (for pc-relative pointers in .eh_frame) */
	bool is_eh_frame;   /* .eh_frame layout; otherwise .debug_frame */
	uint64_t text_addr; /* for DW_EH_PE_textrel, 0 if unknown */
	uint64_t data_addr; /* for DW_EH_PE_datarel (.got), 0 if unknown */
};

struct cfi_stats {
	uint64_t cies;
	uint64_t fdes;
	uint64_t rows;
	uint64_t errors; /* malformed entries skipped */
};

/* Walks the section. Returns 0, or the callback's non-zero value. */
int cfi_parse(const struct cfi_section *sec, cfi_row_fn fn, void *ctx, struct cfi_stats *stats);

#endif
