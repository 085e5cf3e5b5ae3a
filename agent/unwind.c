// SPDX-License-Identifier: Apache-2.0
#include <string.h>

#include "unwind.h"

/* x86-64 Linux: the ucontext a signal handler returns through (struct rt_sigframe) */
#define UC_MCONTEXT 40 /* uc_flags, uc_link, uc_stack */
#define MC_RBP (10 * 8)
#define MC_RSP (15 * 8)
#define MC_RIP (16 * 8)

static const char *const status_names[UNWIND_NSTATUS] = {
	[UNWIND_COMPLETE] = "complete",
	[UNWIND_TRUNCATED_COPY] = "truncated_stack_copy",
	[UNWIND_TRUNCATED_DEPTH] = "truncated_depth",
	[UNWIND_PENDING] = "pending",
	[UNWIND_ERR_UNMAPPED] = "unmapped_address",
	[UNWIND_ERR_NO_CFI] = "no_unwind_info",
	[UNWIND_ERR_RULE] = "unsupported_rule",
	[UNWIND_ERR_REGISTER] = "unknown_register",
	[UNWIND_ERR_LOOP] = "stack_not_progressing",
	[UNWIND_ERR_TABLE] = "table_failed",
	[UNWIND_NO_USER] = "no_user_stack",
};

const char *unwind_status_name(enum unwind_status s)
{
	return s < UNWIND_NSTATUS ? status_names[s] : "?";
}

struct uregs {
	uint64_t pc, sp, bp;
	bool bp_known;
	bool exact;		       /* pc is the interrupted instruction, not a return address */
	const struct sonde_regs *leaf; /* every register, in the leaf frame only */
};

struct stack_view {
	const uint8_t *data;
	uint64_t base; /* the address of data[0] */
	uint64_t len;
};

static bool read_u64(const struct stack_view *sv, uint64_t addr, uint64_t *ret)
{
	if (addr < sv->base || addr - sv->base > sv->len || sv->len - (addr - sv->base) < 8)
		return false;
	memcpy(ret, sv->data + (addr - sv->base), 8);
	return true;
}

/* A register's value, by DWARF number, where this frame knows it. */
static bool reg_value(const struct uregs *r, unsigned reg, uint64_t *ret)
{
	const struct sonde_regs *l = r->leaf;

	switch (reg) {
	case DWARF_REG_RSP:
		*ret = r->sp;
		return true;
	case DWARF_REG_RBP:
		*ret = r->bp;
		return r->bp_known;
	case DWARF_REG_RA:
		*ret = r->pc;
		return true;
	}
	if (!l)
		return false;
	switch (reg) {
	case 0:
		*ret = l->ax;
		return true;
	case 1:
		*ret = l->dx;
		return true;
	case 2:
		*ret = l->cx;
		return true;
	case 3:
		*ret = l->bx;
		return true;
	case 4:
		*ret = l->si;
		return true;
	case 5:
		*ret = l->di;
		return true;
	case 8:
		*ret = l->r8;
		return true;
	case 9:
		*ret = l->r9;
		return true;
	case 10:
		*ret = l->r10;
		return true;
	case 11:
		*ret = l->r11;
		return true;
	case 12:
		*ret = l->r12;
		return true;
	case 13:
		*ret = l->r13;
		return true;
	case 14:
		*ret = l->r14;
		return true;
	case 15:
		*ret = l->r15;
		return true;
	}
	return false;
}

/* The end of a goroutine's stack, or of a thread's system stack. */
static bool go_stack_root(const char *name)
{
	return strcmp(name, "runtime.goexit") == 0 || strcmp(name, "runtime.mstart") == 0 ||
	       strcmp(name, "runtime.rt0_go") == 0 || strcmp(name, "runtime.mcall") == 0 ||
	       strcmp(name, "runtime.morestack") == 0;
}

/* One step by a CFI rule. Returns COMPLETE to stop at the outermost frame, or -1 to go on. */
static int step_cfi(const struct cfi_rule *rule, struct uregs *r, const struct stack_view *sv,
		    enum unwind_status *st)
{
	uint64_t cfa, ra, base, bp = r->bp;
	bool bp_known = r->bp_known;

	if (rule->signal) {
		/* the return address of a signal handler: restore what the signal interrupted */
		uint64_t mc = r->sp + UC_MCONTEXT;

		if (!read_u64(sv, mc + MC_RIP, &r->pc) || !read_u64(sv, mc + MC_RSP, &r->sp)) {
			*st = UNWIND_TRUNCATED_COPY;
			return 0;
		}
		r->bp_known = read_u64(sv, mc + MC_RBP, &r->bp);
		r->exact = true;
		r->leaf = NULL;
		return -1;
	}
	if (rule->ra_kind == SAVED_UNDEFINED) {
		*st = UNWIND_COMPLETE;
		return 0;
	}
	switch (rule->cfa_kind) {
	case CFA_REG:
		if (!reg_value(r, rule->cfa_reg, &base)) {
			*st = UNWIND_ERR_REGISTER;
			return 0;
		}
		cfa = base + (uint64_t)(int64_t)rule->cfa_off;
		break;
	case CFA_DEREF_REG:
		if (!reg_value(r, rule->cfa_reg, &base)) {
			*st = UNWIND_ERR_REGISTER;
			return 0;
		}
		if (!read_u64(sv, base + (uint64_t)(int64_t)rule->cfa_off, &cfa)) {
			*st = UNWIND_TRUNCATED_COPY;
			return 0;
		}
		break;
	case CFA_PLT:
		cfa = r->sp + 8 + ((r->pc & 15) >= (uint64_t)rule->cfa_off ? 8 : 0);
		break;
	default:
		*st = UNWIND_ERR_RULE;
		return 0;
	}
	if (rule->ra_kind != SAVED_AT_CFA) {
		*st = UNWIND_ERR_RULE;
		return 0;
	}
	if (!read_u64(sv, cfa + (uint64_t)(int64_t)rule->ra_off, &ra)) {
		*st = UNWIND_TRUNCATED_COPY;
		return 0;
	}
	switch (rule->rbp_kind) {
	case SAVED_SAME:
		break;
	case SAVED_AT_CFA:
		bp_known = read_u64(sv, cfa + (uint64_t)(int64_t)rule->rbp_off, &bp);
		break;
	case SAVED_AT_REG:
		bp_known = reg_value(r, rule->rbp_reg, &base) &&
			   read_u64(sv, base + (uint64_t)(int64_t)rule->rbp_off, &bp);
		break;
	default:
		bp_known = false;
	}
	if (cfa <= r->sp) {
		*st = UNWIND_ERR_LOOP;
		return 0;
	}
	r->pc = ra;
	r->sp = cfa;
	r->bp = bp;
	r->bp_known = bp_known;
	r->exact = false;
	r->leaf = NULL;
	return -1;
}

/* One step by Go's stack-pointer delta table. */
static int step_go(const struct unwind_table *t, const struct go_func *fn, uint64_t vaddr,
		   struct uregs *r, const struct stack_view *sv, enum unwind_status *st)
{
	int32_t delta;
	uint64_t ra_addr, ra;

	if (go_stack_root(fn->name)) {
		*st = UNWIND_COMPLETE;
		return 0;
	}
	if (gopclntab__pcvalue(t->go, fn->pcsp, fn->entry, vaddr, &delta) || delta < 0) {
		*st = UNWIND_ERR_RULE;
		return 0;
	}
	ra_addr = r->sp + (uint64_t)delta;
	if (!read_u64(sv, ra_addr, &ra)) {
		*st = UNWIND_TRUNCATED_COPY;
		return 0;
	}
	/* Go saves the caller's frame pointer just below the return address once the frame is up */
	if (delta >= 16)
		r->bp_known = read_u64(sv, ra_addr - 8, &r->bp);
	r->pc = ra;
	r->sp = ra_addr + 8;
	r->exact = false;
	r->leaf = NULL;
	return -1;
}

static void put_marker(struct frame *f, enum frame_kind kind, enum unwind_status st)
{
	memset(f, 0, sizeof(*f));
	f->kind = (uint8_t)kind;
	f->addr = st;
}

enum unwind_status unwind_user(struct unwind_cache *cache, struct proc_table *procs,
			       const struct maps *maps, const struct sonde_sample *s,
			       struct frame *out, uint32_t max, uint32_t *ret_n)
{
	struct stack_view sv = {(const uint8_t *)(s + 1), s->regs.sp, s->stack_bytes};
	struct uregs r = {s->regs.ip, s->regs.sp, s->regs.bp, true, true, &s->regs};
	enum unwind_status st = UNWIND_TRUNCATED_DEPTH;
	uint32_t n = 0;

	*ret_n = 0;
	if (!(s->flags & SONDE_SAMPLE_USER_REGS))
		return UNWIND_NO_USER;
	if (max > UNWIND_MAX_FRAMES)
		max = UNWIND_MAX_FRAMES;
	while (n < max) {
		uint64_t lookup = r.exact ? r.pc : r.pc - 1, vaddr;
		const struct mapping *m = maps__find(maps, lookup);
		struct frame *f = &out[n];
		const struct unwind_table *t;
		enum unwind_entry_state es;
		const struct cfi_rule *rule;
		struct go_func fn;

		if (r.pc == 0 && n > 0) {
			st = UNWIND_COMPLETE; /* a zeroed return address ends some runtimes' stacks
					       */
			break;
		}
		memset(f, 0, sizeof(*f));
		if (!m) {
			f->kind = FRAME_UNMAPPED;
			f->addr = lookup;
			n++;
			st = UNWIND_ERR_UNMAPPED;
			break;
		}
		f->kind = FRAME_USER;
		f->obj_id = m->obj->id;
		vaddr = mapping_addr(m, lookup);
		f->addr = vaddr;
		proc_table__use_object(procs, m->obj);
		n++;
		if (!(m->flags & MAPPING_BIAS_OK) || !m->obj->unwind) {
			st = UNWIND_ERR_NO_CFI;
			break;
		}
		t = unwind_cache__table(cache, m->obj->unwind, &es);
		if (!t) {
			st = es == UNWIND_ENTRY_FAILED ? UNWIND_ERR_TABLE : UNWIND_PENDING;
			break;
		}
		if (t->go && gopclntab__find(t->go, vaddr, &fn) == 0) {
			if (step_go(t, &fn, vaddr, &r, &sv, &st) >= 0)
				break;
			continue;
		}
		rule = unwind_table__lookup(t, vaddr);
		if (!rule) {
			st = UNWIND_ERR_NO_CFI;
			break;
		}
		if (step_cfi(rule, &r, &sv, &st) >= 0)
			break;
	}
	if (st != UNWIND_COMPLETE && st != UNWIND_PENDING)
		put_marker(&out[n++],
			   st <= UNWIND_TRUNCATED_DEPTH ? FRAME_TRUNCATED : FRAME_UNWIND_ERROR, st);
	*ret_n = n;
	return st;
}
