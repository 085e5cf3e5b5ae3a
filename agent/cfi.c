// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <string.h>

#include "cfi.h"

#define MAX_REMEMBER 32 /* DW_CFA_remember_state depth */
#define CIE_CACHE 64	/* CIEs remembered by offset; most files have a handful */

/* DW_EH_PE pointer encodings */
#define PE_OMIT 0xff
#define PE_INDIRECT 0x80

struct reader {
	const uint8_t *p;
	const uint8_t *end;
	bool err;
};

static uint64_t rd_fixed(struct reader *r, unsigned n)
{
	uint64_t v = 0;

	if (r->err || (size_t)(r->end - r->p) < n) {
		r->err = true;
		return 0;
	}
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)r->p[i] << (8 * i);
	r->p += n;
	return v;
}

static uint64_t rd_uleb(struct reader *r)
{
	uint64_t v = 0;

	for (unsigned shift = 0; !r->err; shift += 7) {
		uint8_t b;

		if (r->p >= r->end || shift > 63) {
			r->err = true;
			break;
		}
		b = *r->p++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	return 0;
}

static int64_t rd_sleb(struct reader *r)
{
	int64_t v = 0;
	unsigned shift = 0;
	uint8_t b = 0;

	do {
		if (r->err || r->p >= r->end || shift > 63) {
			r->err = true;
			return 0;
		}
		b = *r->p++;
		v |= (int64_t)((uint64_t)(b & 0x7f) << shift);
		shift += 7;
	} while (b & 0x80);
	if (shift < 64 && (b & 0x40))
		v = (int64_t)((uint64_t)v | (~(uint64_t)0 << shift));
	return v;
}

/* v × the CIE's data alignment (negated when asked); a product past int64 is malformed CFI. */
static int64_t factored(struct reader *r, int64_t v, int64_t align, bool negate)
{
	int64_t out;

	if (__builtin_mul_overflow(v, align, &out) || (negate && out == INT64_MIN)) {
		r->err = true;
		return 0;
	}
	return negate ? -out : out;
}

/* Reads a DW_EH_PE-encoded pointer. Sets r->err for encodings we cannot resolve. */
static uint64_t rd_encoded(struct reader *r, uint8_t enc, const struct cfi_section *sec)
{
	uint64_t base = 0, v;

	if (enc == PE_OMIT)
		return 0;
	switch (enc & 0x70) {
	case 0x00:
		break;
	case 0x10: /* pcrel: relative to the field's own address */
		base = sec->addr + (uint64_t)(r->p - sec->data);
		break;
	case 0x20:
		base = sec->text_addr;
		break;
	case 0x30:
		base = sec->data_addr;
		break;
	default: /* funcrel, aligned: not used in .eh_frame headers of real files */
		r->err = true;
		return 0;
	}
	switch (enc & 0x0f) {
	case 0x00:
		v = rd_fixed(r, 8);
		break;
	case 0x01:
		v = rd_uleb(r);
		break;
	case 0x02:
		v = rd_fixed(r, 2);
		break;
	case 0x03:
		v = rd_fixed(r, 4);
		break;
	case 0x04:
		v = rd_fixed(r, 8);
		break;
	case 0x09:
		v = (uint64_t)rd_sleb(r);
		break;
	case 0x0a:
		v = (uint64_t)(int64_t)(int16_t)rd_fixed(r, 2);
		break;
	case 0x0b:
		v = (uint64_t)(int64_t)(int32_t)rd_fixed(r, 4);
		break;
	case 0x0c:
		v = rd_fixed(r, 8);
		break;
	default:
		r->err = true;
		return 0;
	}
	if (enc & PE_INDIRECT) {
		/* a pointer to the value: would need the loaded image */
		r->err = true;
		return 0;
	}
	return base + v;
}

struct cie {
	size_t offset;
	uint64_t code_align;
	int64_t data_align;
	uint64_t ra_reg;
	uint8_t fde_enc;
	uint8_t lsda_enc;
	uint8_t addr_size;
	bool has_z;
	bool signal;
	const uint8_t *insns;
	const uint8_t *insns_end;
};

/* Reads an entry's length; returns the start of its body, or NULL at the end/on error. */
static const uint8_t *entry_bounds(const uint8_t *p, const uint8_t *end, const uint8_t **ret_end,
				   bool *ret_64)
{
	struct reader r = {p, end, false};
	uint64_t len = rd_fixed(&r, 4);

	*ret_64 = false;
	if (len == 0xffffffff) {
		len = rd_fixed(&r, 8);
		*ret_64 = true;
	}
	if (r.err || len == 0 || len > (uint64_t)(end - r.p))
		return NULL;
	*ret_end = r.p + len;
	return r.p;
}

static int parse_cie(const struct cfi_section *sec, size_t off, struct cie *cie)
{
	const uint8_t *body, *end;
	struct reader r;
	const char *aug;
	size_t aug_len;
	uint64_t id;
	bool is64;
	uint8_t version;

	if (off >= sec->size)
		return -EINVAL;
	body = entry_bounds(sec->data + off, sec->data + sec->size, &end, &is64);
	if (!body)
		return -EINVAL;
	r.p = body;
	r.end = end;
	r.err = false;
	id = rd_fixed(&r, is64 ? 8 : 4);
	if (sec->is_eh_frame ? id != 0 : id != (is64 ? UINT64_MAX : 0xffffffffu))
		return -EINVAL;
	memset(cie, 0, sizeof(*cie));
	cie->offset = off;
	cie->fde_enc = 0x00; /* absptr unless an R augmentation says otherwise */
	cie->lsda_enc = PE_OMIT;
	cie->addr_size = 8;
	version = (uint8_t)rd_fixed(&r, 1);
	if (r.err || (version != 1 && version != 3 && version != 4))
		return -EINVAL;
	aug = (const char *)r.p;
	aug_len = strnlen(aug, (size_t)(r.end - r.p));
	if (aug_len == (size_t)(r.end - r.p))
		return -EINVAL;
	r.p += aug_len + 1;
	if (aug_len && aug[0] != 'z')
		return -ENOTSUP; /* old GCC "eh" augmentation or unknown: skip */
	if (version == 4) {
		cie->addr_size = (uint8_t)rd_fixed(&r, 1);
		rd_fixed(&r, 1); /* segment selector size */
		if (cie->addr_size != 8 && cie->addr_size != 4)
			return -EINVAL;
	}
	cie->code_align = rd_uleb(&r);
	cie->data_align = rd_sleb(&r);
	cie->ra_reg = version == 1 ? rd_fixed(&r, 1) : rd_uleb(&r);
	if (aug[0] == 'z') {
		uint64_t alen = rd_uleb(&r);
		struct reader a;

		if (r.err || alen > (uint64_t)(r.end - r.p))
			return -EINVAL;
		a.p = r.p;
		a.end = r.p + alen;
		a.err = false;
		cie->has_z = true;
		for (const char *c = aug + 1; *c && !a.err; c++) {
			switch (*c) {
			case 'R':
				cie->fde_enc = (uint8_t)rd_fixed(&a, 1);
				break;
			case 'L':
				cie->lsda_enc = (uint8_t)rd_fixed(&a, 1);
				break;
			case 'P': {
				uint8_t penc = (uint8_t)rd_fixed(&a, 1);

				/* the personality pointer itself is of no use here: skip it */
				rd_encoded(&a, penc & 0x7f, sec);
				a.err = false;
				break;
			}
			case 'S':
				cie->signal = true;
				break;
			case 'B': /* AArch64 BTI: no data */
			case 'G': /* MTE tagged frames: no data */
				break;
			default:
				/* unknown: the 'z' length lets us skip the rest safely */
				a.p = a.end;
				break;
			}
		}
		r.p += alen;
	}
	if (r.err || cie->code_align == 0)
		return -EINVAL;
	cie->insns = r.p;
	cie->insns_end = end;
	return 0;
}

enum rule_kind {
	RULE_SAME = 0,
	RULE_UNDEF,
	RULE_OFFSET,	 /* at CFA + off */
	RULE_VAL_OFFSET, /* value = CFA + off */
	RULE_REGISTER,
	RULE_EXPR, /* at the address the expression computes */
	RULE_VAL_EXPR,
};

struct reg_rule {
	uint8_t kind;
	uint8_t reg;
	int64_t off;
	const uint8_t *expr;
	size_t expr_len;
};

struct cfa_rule {
	bool is_expr;
	uint8_t reg;
	int64_t off;
	const uint8_t *expr;
	size_t expr_len;
};

struct frame_state {
	struct cfa_rule cfa;
	struct reg_rule rbp;
	struct reg_rule ra;
};

/* Matches the PLT expression, `bregN off; deref`, or `bregN off`. */
static void classify_cfa_expr(const uint8_t *e, size_t n, struct cfi_rule *out)
{
	struct reader r = {e, e + n, false};
	uint8_t op;

	out->cfa_kind = CFA_UNSUPPORTED;
	if (n == 0)
		return;
	op = (uint8_t)rd_fixed(&r, 1);
	if (op >= 0x70 && op <= 0x8f) { /* DW_OP_bregN */
		uint8_t reg = op - 0x70;
		int64_t off = rd_sleb(&r);

		if (r.err || off < INT32_MIN || off > INT32_MAX)
			return;
		if (r.p == r.end)
			return; /* CFA = reg + off as an expression: use def_cfa instead; rare */
		op = (uint8_t)rd_fixed(&r, 1);
		if (op == 0x06 && r.p == r.end) { /* DW_OP_deref */
			out->cfa_kind = CFA_DEREF_REG;
			out->cfa_reg = reg;
			out->cfa_off = (int32_t)off;
			return;
		}
		/* PLT: breg7 8; breg16 0; lit15; and; litN; ge; lit3; shl; plus */
		if (reg == DWARF_REG_RSP && off == 8 && op == 0x80 && rd_sleb(&r) == 0 &&
		    rd_fixed(&r, 1) == 0x3f && rd_fixed(&r, 1) == 0x1a) {
			uint8_t lit = (uint8_t)rd_fixed(&r, 1);

			if (lit >= 0x30 && lit <= 0x4f && rd_fixed(&r, 1) == 0x2a &&
			    rd_fixed(&r, 1) == 0x33 && rd_fixed(&r, 1) == 0x24 &&
			    rd_fixed(&r, 1) == 0x22 && !r.err && r.p == r.end) {
				out->cfa_kind = CFA_PLT;
				out->cfa_reg = DWARF_REG_RSP;
				out->cfa_off = lit - 0x30;
			}
		}
	}
}

static void classify_saved(const struct reg_rule *rr, uint8_t *kind, uint8_t *reg, int64_t *off)
{
	*reg = 0;
	*off = 0;
	switch (rr->kind) {
	case RULE_SAME:
		*kind = SAVED_SAME;
		return;
	case RULE_UNDEF:
		*kind = SAVED_UNDEFINED;
		return;
	case RULE_OFFSET:
		*kind = SAVED_AT_CFA;
		*off = rr->off;
		return;
	case RULE_EXPR: {
		struct reader r = {rr->expr, rr->expr + rr->expr_len, false};
		uint8_t op = (uint8_t)rd_fixed(&r, 1);

		if (op >= 0x70 && op <= 0x8f) {
			int64_t o = rd_sleb(&r);

			if (!r.err && r.p == r.end) {
				*kind = SAVED_AT_REG;
				*reg = op - 0x70;
				*off = o;
				return;
			}
		}
		break;
	}
	default:
		break;
	}
	*kind = SAVED_UNSUPPORTED;
}

static void to_rule(const struct frame_state *st, bool signal, struct cfi_rule *out)
{
	int64_t off;

	memset(out, 0, sizeof(*out));
	out->signal = signal;
	if (st->cfa.is_expr) {
		classify_cfa_expr(st->cfa.expr, st->cfa.expr_len, out);
	} else if (st->cfa.off >= INT32_MIN && st->cfa.off <= INT32_MAX) {
		out->cfa_kind = CFA_REG;
		out->cfa_reg = st->cfa.reg;
		out->cfa_off = (int32_t)st->cfa.off;
	} else {
		out->cfa_kind = CFA_UNSUPPORTED;
	}
	classify_saved(&st->rbp, &out->rbp_kind, &out->rbp_reg, &off);
	if (off < INT16_MIN || off > INT16_MAX)
		out->rbp_kind = SAVED_UNSUPPORTED;
	else
		out->rbp_off = (int16_t)off;
	{
		uint8_t reg;

		classify_saved(&st->ra, &out->ra_kind, &reg, &off);
		if (out->ra_kind == SAVED_AT_REG || off < INT16_MIN || off > INT16_MAX)
			out->ra_kind = SAVED_UNSUPPORTED;
		else
			out->ra_off = (int16_t)off;
	}
}

static struct reg_rule *tracked(struct frame_state *st, uint64_t reg)
{
	if (reg == DWARF_REG_RBP)
		return &st->rbp;
	if (reg == DWARF_REG_RA)
		return &st->ra;
	return NULL;
}

struct run_ctx {
	const struct cfi_section *sec;
	const struct cie *cie;
	const struct frame_state *initial; /* after the CIE's instructions */
	cfi_row_fn fn;
	void *fn_ctx;
	struct cfi_stats *stats;
};

/*
 * Runs a CFA program. With rc->fn set, emits rows between loc and end_pc. Returns 0, the
 * callback's non-zero value, or -EINVAL on malformed instructions (rows so far are kept).
 */
static int run_program(struct run_ctx *rc, const uint8_t *p, const uint8_t *end,
		       struct frame_state *st, uint64_t loc, uint64_t end_pc)
{
	struct frame_state stack[MAX_REMEMBER];
	struct reader r = {p, end, false};
	const struct cie *cie = rc->cie;
	unsigned depth = 0;
	int ret;

	while (r.p < r.end && !r.err) {
		uint8_t op = (uint8_t)rd_fixed(&r, 1);
		uint64_t reg = 0, next = loc;
		int64_t off;
		struct reg_rule *rr;

		switch (op & 0xc0) {
		case 0x40: /* advance_loc */
			next = loc + (op & 0x3f) * cie->code_align;
			goto advance;
		case 0x80: /* offset */
			rr = tracked(st, op & 0x3f);
			off = factored(&r, (int64_t)rd_uleb(&r), cie->data_align, false);
			if (rr) {
				rr->kind = RULE_OFFSET;
				rr->off = off;
			}
			continue;
		case 0xc0: /* restore */
			rr = tracked(st, op & 0x3f);
			if (rr && rc->initial)
				*rr = *tracked((struct frame_state *)rc->initial, op & 0x3f);
			continue;
		}
		switch (op) {
		case 0x00: /* nop */
			break;
		case 0x01: /* set_loc */
			next = rd_encoded(&r, rc->sec->is_eh_frame ? cie->fde_enc : 0x00, rc->sec);
			goto advance;
		case 0x02:
			next = loc + rd_fixed(&r, 1) * cie->code_align;
			goto advance;
		case 0x03:
			next = loc + rd_fixed(&r, 2) * cie->code_align;
			goto advance;
		case 0x04:
			next = loc + rd_fixed(&r, 4) * cie->code_align;
			goto advance;
		case 0x05: /* offset_extended */
			reg = rd_uleb(&r);
			off = factored(&r, (int64_t)rd_uleb(&r), cie->data_align, false);
			goto set_offset;
		case 0x11: /* offset_extended_sf */
			reg = rd_uleb(&r);
			off = factored(&r, rd_sleb(&r), cie->data_align, false);
			goto set_offset;
		case 0x2f: /* GNU_negative_offset_extended */
			reg = rd_uleb(&r);
			off = factored(&r, (int64_t)rd_uleb(&r), cie->data_align, true);
			goto set_offset;
		case 0x14: /* val_offset */
		case 0x15: /* val_offset_sf */
			reg = rd_uleb(&r);
			off = op == 0x14 ? (int64_t)rd_uleb(&r) : rd_sleb(&r);
			rr = tracked(st, reg);
			if (rr) {
				rr->kind = RULE_VAL_OFFSET;
				rr->off = factored(&r, off, cie->data_align, false);
			}
			break;
		case 0x06: /* restore_extended */
			reg = rd_uleb(&r);
			rr = tracked(st, reg);
			if (rr && rc->initial)
				*rr = *tracked((struct frame_state *)rc->initial, reg);
			break;
		case 0x07: /* undefined */
		case 0x08: /* same_value */
			rr = tracked(st, rd_uleb(&r));
			if (rr)
				rr->kind = op == 0x07 ? RULE_UNDEF : RULE_SAME;
			break;
		case 0x09: /* register */
			rr = tracked(st, rd_uleb(&r));
			reg = rd_uleb(&r);
			if (rr) {
				rr->kind = RULE_REGISTER;
				rr->reg = (uint8_t)reg;
			}
			break;
		case 0x0a: /* remember_state */
			if (depth >= MAX_REMEMBER)
				return -EINVAL;
			stack[depth++] = *st;
			break;
		case 0x0b: /* restore_state: the CFA too, as GCC and LLVM expect */
			if (!depth)
				return -EINVAL;
			*st = stack[--depth];
			break;
		case 0x0c: /* def_cfa */
			st->cfa.is_expr = false;
			st->cfa.reg = (uint8_t)rd_uleb(&r);
			st->cfa.off = (int64_t)rd_uleb(&r);
			break;
		case 0x12: /* def_cfa_sf */
			st->cfa.is_expr = false;
			st->cfa.reg = (uint8_t)rd_uleb(&r);
			st->cfa.off = factored(&r, rd_sleb(&r), cie->data_align, false);
			break;
		case 0x0d: /* def_cfa_register */
			st->cfa.is_expr = false;
			st->cfa.reg = (uint8_t)rd_uleb(&r);
			break;
		case 0x0e: /* def_cfa_offset */
			st->cfa.off = (int64_t)rd_uleb(&r);
			break;
		case 0x13: /* def_cfa_offset_sf */
			st->cfa.off = factored(&r, rd_sleb(&r), cie->data_align, false);
			break;
		case 0x0f: { /* def_cfa_expression */
			uint64_t n = rd_uleb(&r);

			if (r.err || n > (uint64_t)(r.end - r.p))
				return -EINVAL;
			st->cfa.is_expr = true;
			st->cfa.expr = r.p;
			st->cfa.expr_len = n;
			r.p += n;
			break;
		}
		case 0x10:   /* expression */
		case 0x16: { /* val_expression */
			uint64_t n;

			reg = rd_uleb(&r);
			n = rd_uleb(&r);
			if (r.err || n > (uint64_t)(r.end - r.p))
				return -EINVAL;
			rr = tracked(st, reg);
			if (rr) {
				rr->kind = op == 0x10 ? RULE_EXPR : RULE_VAL_EXPR;
				rr->expr = r.p;
				rr->expr_len = n;
			}
			r.p += n;
			break;
		}
		case 0x2e: /* GNU_args_size: no effect on the CFA */
			rd_uleb(&r);
			break;
		case 0x2d: /* GNU_window_save (SPARC) */
			break;
		default:
			return -EINVAL;
		}
		continue;
	set_offset:
		rr = tracked(st, reg);
		if (rr) {
			rr->kind = RULE_OFFSET;
			rr->off = off;
		}
		continue;
	advance:
		if (r.err)
			break;
		if (rc->fn && next > loc) {
			struct cfi_rule rule;
			uint64_t stop = next < end_pc ? next : end_pc;

			if (stop > loc) {
				to_rule(st, cie->signal, &rule);
				rc->stats->rows++;
				ret = rc->fn(rc->fn_ctx, loc, stop, &rule);
				if (ret)
					return ret;
			}
		}
		if (next < loc)
			return -EINVAL; /* locations only move forward */
		loc = next;
	}
	if (r.err)
		return -EINVAL;
	if (rc->fn && loc < end_pc) {
		struct cfi_rule rule;

		to_rule(st, cie->signal, &rule);
		rc->stats->rows++;
		return rc->fn(rc->fn_ctx, loc, end_pc, &rule);
	}
	return 0;
}

static const struct cie *get_cie(const struct cfi_section *sec, size_t off, struct cie *cache,
				 size_t *ncache, struct cfi_stats *stats)
{
	struct cie *slot = &cache[off % CIE_CACHE];

	if (*ncache && slot->offset == off && slot->insns)
		return slot;
	if (parse_cie(sec, off, slot)) {
		slot->insns = NULL;
		return NULL;
	}
	stats->cies++;
	*ncache = 1;
	return slot;
}

int cfi_parse(const struct cfi_section *sec, cfi_row_fn fn, void *ctx, struct cfi_stats *stats)
{
	struct cie cache[CIE_CACHE];
	size_t ncache = 0, off = 0;
	struct cfi_stats local = {0};

	if (!stats)
		stats = &local;
	memset(cache, 0, sizeof(cache));
	while (off + 4 <= sec->size) {
		const uint8_t *entry = sec->data + off, *body, *end;
		struct reader r;
		uint64_t cie_ptr, cie_off, start, range;
		const struct cie *cie;
		bool is64;
		int ret;

		body = entry_bounds(entry, sec->data + sec->size, &end, &is64);
		if (!body)
			break; /* a zero terminator, or a length past the end */
		off = (size_t)(end - sec->data);
		r.p = body;
		r.end = end;
		r.err = false;
		cie_ptr = rd_fixed(&r, is64 ? 8 : 4);
		if (r.err) {
			stats->errors++;
			continue;
		}
		if (sec->is_eh_frame ? cie_ptr == 0 : cie_ptr == (is64 ? UINT64_MAX : 0xffffffffu))
			continue; /* a CIE: parsed when an FDE refers to it */
		if (sec->is_eh_frame) {
			/* relative to the CIE pointer field itself */
			uint64_t field = (uint64_t)(body - sec->data);

			if (cie_ptr > field) {
				stats->errors++;
				continue;
			}
			cie_off = field - cie_ptr;
		} else {
			cie_off = cie_ptr;
		}
		cie = get_cie(sec, (size_t)cie_off, cache, &ncache, stats);
		if (!cie) {
			stats->errors++;
			continue;
		}
		stats->fdes++;
		if (sec->is_eh_frame) {
			start = rd_encoded(&r, cie->fde_enc, sec);
			range = rd_encoded(&r, cie->fde_enc & 0x0f, sec);
		} else {
			start = rd_fixed(&r, cie->addr_size);
			range = rd_fixed(&r, cie->addr_size);
		}
		if (cie->has_z) {
			uint64_t alen = rd_uleb(&r);

			if (alen > (uint64_t)(r.end - r.p))
				r.err = true;
			else
				r.p += alen;
		}
		if (r.err || range == 0 || start + range < start) {
			if (r.err)
				stats->errors++;
			continue;
		}
		{
			struct frame_state initial = {0}, st;
			struct run_ctx rc = {sec, cie, NULL, NULL, NULL, stats};

			/* the CIE's instructions set the initial state; they emit no rows */
			initial.rbp.kind = RULE_SAME;
			initial.ra.kind = RULE_SAME;
			if (run_program(&rc, cie->insns, cie->insns_end, &initial, start, start)) {
				stats->errors++;
				continue;
			}
			st = initial;
			rc.initial = &initial;
			rc.fn = fn;
			rc.fn_ctx = ctx;
			ret = run_program(&rc, r.p, r.end, &st, start, start + range);
			if (ret > 0)
				return ret;
			if (ret < 0)
				stats->errors++;
		}
	}
	return 0;
}
