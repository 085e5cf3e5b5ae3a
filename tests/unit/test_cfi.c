// SPDX-License-Identifier: Apache-2.0
/*
 * agent/cfi.c: the .eh_frame of this test parses cleanly into sane rows; every truncation of it
 * and random bytes parse without reading out of bounds (ASan under make SANITIZE=1), reporting
 * only sane rows and counting what they could not parse.
 */
#include <fcntl.h>
#include <gelf.h>
#include <stdlib.h>
#include <unistd.h>

#include "unit.h"
#include "../../agent/cfi.h"

struct rows {
	uint64_t n, insane;
	uint64_t lo, hi; /* the section's text range, 0 = anything */
};

static int count_rows(void *ctx, uint64_t start, uint64_t end, const struct cfi_rule *rule)
{
	struct rows *r = ctx;

	r->n++;
	if (start >= end || rule->cfa_kind > CFA_UNSUPPORTED || rule->ra_kind > SAVED_UNSUPPORTED ||
	    rule->rbp_kind > SAVED_UNSUPPORTED || (r->hi && (start < r->lo || end > r->hi)))
		r->insane++;
	return 0;
}

/* This test's own .eh_frame, copied out, with its address and the text range it describes. */
static uint8_t *self_eh_frame(struct cfi_section *sec, uint64_t *lo, uint64_t *hi)
{
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	Elf *elf;
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	uint8_t *copy = NULL;

	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_getshdrstrndx(elf, &shstrndx) != 0)
		goto out;
	*lo = UINT64_MAX;
	*hi = 0;
	while ((scn = elf_nextscn(elf, scn)) != NULL) {
		GElf_Shdr sh;
		const char *name;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh))
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (sh.sh_flags & SHF_EXECINSTR) {
			*lo = sh.sh_addr < *lo ? sh.sh_addr : *lo;
			*hi = sh.sh_addr + sh.sh_size > *hi ? sh.sh_addr + sh.sh_size : *hi;
		}
		if (!name || strcmp(name, ".eh_frame") != 0 || !(d = elf_getdata(scn, NULL)))
			continue;
		copy = malloc(d->d_size);
		memcpy(copy, d->d_buf, d->d_size);
		memset(sec, 0, sizeof(*sec));
		sec->data = copy;
		sec->size = d->d_size;
		sec->addr = sh.sh_addr;
		sec->is_eh_frame = true;
	}
out:
	elf_end(elf);
	close(fd);
	return copy;
}

static void test_self_and_truncations(void)
{
	struct cfi_section sec;
	struct cfi_stats st = {0};
	struct rows full = {0};
	uint64_t lo = 0, hi = 0, insane = 0, more = 0;
	uint8_t *copy = self_eh_frame(&sec, &lo, &hi);

	REQUIRE(copy != NULL);
	full.lo = lo;
	full.hi = hi;
	CHECK(cfi_parse(&sec, count_rows, &full, &st) == 0);
	CHECK(full.n > 100);
	CHECK_EQ_U64(full.insane, 0);
	CHECK(st.fdes > 50 && st.cies >= 1);
	CHECK_EQ_U64(st.errors, 0);
	CHECK_EQ_U64(st.rows, full.n);
	/* every prefix (in its own allocation, so ASan sees a read past its end) */
	for (size_t len = 0; len < sec.size; len += len < 256 ? 1 : 61) {
		uint8_t *part = malloc(len ? len : 1);
		struct cfi_section cut = sec;
		struct rows r = {0};

		memcpy(part, copy, len);
		cut.data = part;
		cut.size = len;
		cfi_parse(&cut, count_rows, &r, NULL);
		insane += r.insane;
		more += r.n > full.n;
		free(part);
	}
	CHECK_EQ_U64(insane, 0);
	CHECK_EQ_U64(more, 0); /* a prefix never yields more rows than the whole */
	free(copy);
}

/* Random bytes, with plausible lengths so that the parser goes deeper, never crash. */
static void test_hostile(void)
{
	struct cfi_stats st = {0};
	struct rows r = {0};
	uint64_t rounds_with_errors = 0;

	srand(42);
	for (int round = 0; round < 2000; round++) {
		size_t n = (size_t)(rand() % 4096);
		uint8_t *buf = malloc(n ? n : 1);
		struct cfi_section sec = {.data = buf, .size = n, .addr = 0x1000};

		for (size_t i = 0; i < n; i++)
			buf[i] = (uint8_t)rand();
		if (n >= 8) {
			uint32_t len = (uint32_t)(rand() % (int)n);

			memcpy(buf, &len, 4);
			if (round % 3 == 0)
				memset(buf + 4, 0, 4); /* a CIE id */
		}
		sec.is_eh_frame = round % 2;
		memset(&st, 0, sizeof(st));
		cfi_parse(&sec, count_rows, &r, &st);
		rounds_with_errors += st.errors > 0;
		free(buf);
	}
	CHECK_EQ_U64(r.insane, 0);
	CHECK(rounds_with_errors > 100); /* garbage is counted as such, not silently accepted */
}

/* The callback's non-zero value stops the walk and is returned. */
static int stop_at_first(void *ctx, uint64_t start, uint64_t end, const struct cfi_rule *rule)
{
	(*(uint64_t *)ctx)++;
	return 7;
}

static void test_stop(void)
{
	struct cfi_section sec;
	uint64_t lo, hi, n = 0;
	uint8_t *copy = self_eh_frame(&sec, &lo, &hi);

	REQUIRE(copy != NULL);
	CHECK(cfi_parse(&sec, stop_at_first, &n, NULL) == 7);
	CHECK_EQ_U64(n, 1);
	free(copy);
}

int main(void)
{
	RUN(test_self_and_truncations);
	RUN(test_hostile);
	RUN(test_stop);
	return unit_done();
}
