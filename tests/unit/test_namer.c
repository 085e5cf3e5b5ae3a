// SPDX-License-Identifier: Apache-2.0
/*
 * collector/namer on real binaries and a directory store: frames stored without names get them
 * once a debug file is in the store (uploaded through this collector, or another: the store is
 * listed again), file addresses (OTLP) and process addresses (pprof) alike; a build ID found
 * nowhere stays unnamed; many queries name at once; the disk cache keeps its bound.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"
#include "build_prog.h"
#include "collector_fixture.h"
#include "../../collector/debugstore.h"
#include "../../collector/namer.h"
#include "../../common/util.h"
#include "../../symbolizer/elf_file.h"

#define BIAS 0x555555554000ULL

struct prog {
	char *debug;
	size_t debug_len;
	char hex[DEBUGSTORE_MAX_HEX];
	uint64_t work;		       /* the address of work() */
	uint64_t text_vaddr, text_end; /* the executable segment */
};
static struct prog progs[2];

static int build_one(int i, struct prog *p)
{
	char path[256], *text = NULL;
	size_t len;
	struct elf_info info;
	struct debugstore_facts f;
	char msg[256];
	int fd;

	if (build_run("printf 'int work(int x) { return x * %d; }\\n"
		      "int main(int c, char **v) { (void)v; return work(c); }\\n' > p%d.c && "
		      "cc -g -O1 -Wl,--build-id -o p%d p%d.c && objcopy --only-keep-debug p%d "
		      "p%d.debug "
		      "&& nm p%d | awk '/ work$/ { print $1 }' > p%d.work",
		      i + 3, i, i, i, i, i, i, i) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/p%d.debug", build_dir, i);
	if (read_file(AT_FDCWD, path, 64u << 20, &p->debug, &p->debug_len))
		return -1;
	snprintf(path, sizeof(path), "%s/p%d.work", build_dir, i);
	if (read_file(AT_FDCWD, path, 100, &text, &len))
		return -1;
	p->work = strtoull(text, NULL, 16);
	free(text);
	snprintf(path, sizeof(path), "%s/p%d", build_dir, i);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || elf_info__read(fd, &info) != 0)
		return -1;
	close(fd);
	for (uint32_t k = 0; k < info.nsegs; k++)
		if (info.segs[k].flags & 1 /* PF_X */) {
			p->text_vaddr = info.segs[k].vaddr;
			p->text_end = info.segs[k].vaddr + info.segs[k].memsz;
		}
	if (debugstore_check(p->debug, p->debug_len, NULL, 1ULL << 30, &f, msg, sizeof(msg)))
		return -1;
	memcpy(p->hex, f.build_id, sizeof(p->hex));
	return p->work && p->text_vaddr ? 0 : -1;
}

/*
 * A service as ingest stores such frames: per program, work() as a file address (an OTLP
 * native frame) and as a process address (pprof); and one of a build ID nobody has.
 */
static struct svcdata *raw_service(int nprogs)
{
	struct svcdata *sd = svcdata__new("svc");
	uint32_t locs[8], n = 0;
	struct sd_type t = {0};
	uint32_t series;

	for (int i = 0; i < nprogs; i++) {
		const struct prog *p = &progs[i];
		struct sd_mapping m = {0};
		struct sd_location l = {0};

		m.filename = svcdata__string(sd, "p", 1);
		m.build_id = svcdata__string(sd, p->hex, strlen(p->hex));
		l.mapping = svcdata__mapping(sd, &m);
		l.frame_type = svcdata__string(sd, "native", 6);
		l.address = p->work;
		locs[n++] = svcdata__location(sd, &l, NULL);
		/* pprof: the executable segment mapped at BIAS + its page */
		m.start = BIAS + (p->text_vaddr & ~4095ULL);
		m.limit = BIAS + p->text_end;
		m.offset = p->text_vaddr & ~4095ULL;
		l.mapping = svcdata__mapping(sd, &m);
		l.frame_type = 0;
		l.address = BIAS + p->work;
		locs[n++] = svcdata__location(sd, &l, NULL);
	}
	{
		struct sd_mapping m = {0};
		struct sd_location l = {0};

		m.build_id = svcdata__string(sd, "00112233", 8);
		l.mapping = svcdata__mapping(sd, &m);
		l.address = 0x1234;
		locs[n++] = svcdata__location(sd, &l, NULL);
	}
	t.sample_type = svcdata__string(sd, "samples", 7);
	t.sample_unit = svcdata__string(sd, "count", 5);
	series = svcdata__series(sd, svcdata__type(sd, &t), NULL, 0);
	for (uint32_t i = 0; i < n; i++)
		svcdata__row(sd, series, svcdata__stack(sd, &locs[i], 1), 1, 1);
	return sd;
}

/* The frames named "work", and those left without lines. */
static void count(const struct svcdata *sd, int *named, int *unnamed)
{
	*named = *unnamed = 0;
	for (size_t i = 1; i < sd->locations.len; i++) {
		const struct sd_location *l = &sd->locations.v[i];

		if (!l->nlines) {
			(*unnamed)++;
			continue;
		}
		const struct sd_line *ln = &sd->lines.v[l->first_line + l->nlines - 1];
		const struct sd_function *f = &sd->functions.v[ln->function];

		if (strcmp(strtab_get(&sd->strings, f->name), "work") == 0 &&
		    strstr(strtab_get(&sd->strings, f->filename), ".c") && ln->line == 1)
			(*named)++;
	}
}

static struct namer *new_namer(struct objstore *s, uint64_t disk)
{
	struct namer_opts o = {
		.store = s, .wait_ms = 5000, .refresh_ms = 200, .cache_disk_bytes = disk};
	char err[256];
	struct namer *n = namer__new(&o, err, sizeof(err));

	CHECK(n != NULL);
	return n;
}

static void test_upload_then_names(void)
{
	struct fixture_store fs;
	struct debugstore_facts f;
	struct namer_stats st;
	struct svcdata *sd;
	struct namer *n, *other;
	int named, unnamed;
	char msg[256];

	if (!fixture_store_open(&fs))
		return;
	n = new_namer(fs.store, 0);
	other = new_namer(fs.store, 0);
	REQUIRE(n && other);
	/* nothing anywhere: left as they are */
	sd = raw_service(1);
	CHECK(namer__name(n, sd, 0) == 0);
	count(sd, &named, &unnamed);
	CHECK_EQ_U64(named, 0);
	CHECK_EQ_U64(unnamed, 3);
	svcdata__free(sd);
	sd = raw_service(1);
	CHECK(namer__name(other, sd, 0) == 0);
	svcdata__free(sd);
	namer__stats(n, &st);
	CHECK_EQ_U64(st.frames_no_debuginfo, 3);
	CHECK_EQ_U64(st.frames_named, 0);
	/* stored through n: named at once by n, by the other once it lists the store again */
	REQUIRE(debugstore_check(progs[0].debug, progs[0].debug_len, progs[0].hex, 1ULL << 30, &f,
				 msg, sizeof(msg)) == 0);
	REQUIRE(debugstore_put(fs.store, &f, progs[0].debug, progs[0].debug_len, "p0.debug",
			       "upload") == 0);
	namer__changed(n, progs[0].hex);
	sd = raw_service(1);
	CHECK(namer__name(n, sd, 0) == 0);
	count(sd, &named, &unnamed);
	CHECK_EQ_U64(named, 2); /* the file address and the process address */
	CHECK_EQ_U64(unnamed, 1);
	/* the named service still interns: its locations' index was rebuilt */
	{
		struct sd_location l = sd->locations.v[1];

		CHECK_EQ_U64(svcdata__location(sd, &l, sd->lines.v + l.first_line), 1);
	}
	svcdata__free(sd);
	usleep(300 * 1000); /* past refresh_ms */
	sd = raw_service(1);
	CHECK(namer__name(other, sd, 0) == 0);
	count(sd, &named, &unnamed);
	CHECK_EQ_U64(named, 2);
	svcdata__free(sd);
	namer__stats(other, &st);
	CHECK_EQ_U64(st.from_store, 1);
	CHECK(st.store_lists >= 2);
	/* removed: frames go back to their addresses */
	CHECK(debugstore_delete(fs.store, progs[0].hex) == 0);
	namer__changed(n, progs[0].hex);
	sd = raw_service(1);
	CHECK(namer__name(n, sd, 0) == 0);
	count(sd, &named, &unnamed);
	CHECK_EQ_U64(named, 0);
	svcdata__free(sd);
	namer__free(n);
	namer__free(other);
	fixture_store_close(&fs);
}

/* A query past its deadline does not wait: its frames are pending, named by the next one. */
static void test_deadline(void)
{
	struct fixture_store fs;
	struct debugstore_facts f;
	struct namer_stats st;
	struct svcdata *sd;
	struct namer *n;
	int named, unnamed;
	uint64_t t0;
	char msg[256];

	if (!fixture_store_open(&fs))
		return;
	REQUIRE(debugstore_check(progs[0].debug, progs[0].debug_len, NULL, 1ULL << 30, &f, msg,
				 sizeof(msg)) == 0);
	REQUIRE(debugstore_put(fs.store, &f, progs[0].debug, progs[0].debug_len, "", "upload") ==
		0);
	n = new_namer(fs.store, 0);
	REQUIRE(n);
	sd = raw_service(1);
	t0 = clock_ns(CLOCK_MONOTONIC);
	CHECK(namer__name(n, sd, t0) == 0);
	CHECK(clock_ns(CLOCK_MONOTONIC) - t0 < NSEC_PER_SEC);
	count(sd, &named, &unnamed);
	CHECK_EQ_U64(named, 0);
	namer__stats(n, &st);
	CHECK_EQ_U64(st.frames_pending, 3); /* the unknown build ID is still being looked for too */
	svcdata__free(sd);
	sd = raw_service(1);
	CHECK(namer__name(n, sd, namer__deadline(n)) == 0);
	count(sd, &named, &unnamed);
	CHECK_EQ_U64(named, 2);
	svcdata__free(sd);
	namer__free(n);
	fixture_store_close(&fs);
}

struct worker {
	struct namer *n;
	int ok;
};

static void *name_many(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < 20; i++) {
		struct svcdata *sd = raw_service(2);
		int named, unnamed;

		if (namer__name(w->n, sd, 0) == 0) {
			count(sd, &named, &unnamed);
			w->ok += named == 4 && unnamed == 1;
		}
		svcdata__free(sd);
	}
	return NULL;
}

static void test_concurrent_and_bounded(void)
{
	struct fixture_store fs;
	struct debugstore_facts f;
	struct worker w[4];
	pthread_t t[4];
	struct namer_stats st;
	struct namer *n;
	char msg[256];

	if (!fixture_store_open(&fs))
		return;
	for (int i = 0; i < 2; i++) {
		REQUIRE(debugstore_check(progs[i].debug, progs[i].debug_len, NULL, 1ULL << 30, &f,
					 msg, sizeof(msg)) == 0);
		REQUIRE(debugstore_put(fs.store, &f, progs[i].debug, progs[i].debug_len, "",
				       "upload") == 0);
	}
	/* a disk cache too small for two files: one is evicted, names stay right */
	n = new_namer(fs.store, 1);
	REQUIRE(n);
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){n, 0};
		pthread_create(&t[i], NULL, name_many, &w[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		CHECK_EQ_U64(w[i].ok, 20);
	}
	namer__stats(n, &st);
	CHECK(st.evicted_files >= 1);
	CHECK(st.disk_bytes <= progs[0].debug_len + progs[1].debug_len);
	CHECK_EQ_U64(st.frames_named, 4 * 20 * 4);
	namer__free(n);
	fixture_store_close(&fs);
}

int main(void)
{
	if (build_dir_create())
		return 1;
	if (build_one(0, &progs[0]) == 0 && build_one(1, &progs[1]) == 0) {
		RUN(test_upload_then_names);
		RUN(test_deadline);
		RUN(test_concurrent_and_bounded);
	} else {
		fprintf(stderr, "cannot build the test programs (cc, objcopy, nm)\n");
		unit_failures++;
	}
	for (int i = 0; i < 2; i++)
		free(progs[i].debug);
	build_dir_remove();
	return unit_done();
}
