// SPDX-License-Identifier: Apache-2.0
/*
 * What keeps queries from stalling the collector and ingest within its memory: query control
 * (deadline, a client hanging up), the query pool's bound, parallel block reads in order and
 * stopped by the control, and the memory budget.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "unit.h"
#include "../../collector/block.h"
#include "../../collector/fetch.h"
#include "../../collector/membudget.h"
#include "../../collector/qctl.h"
#include "../../collector/qpool.h"
#include "../../common/util.h"

static char tmpdir[] = "/tmp/sonde-test-query-control.XXXXXX";

static void test_qctl(void)
{
	struct qctl c;
	int sv[2];

	qctl_init(&c, 0, -1);
	CHECK(qctl_check(&c) == 0);
	CHECK(qctl_check(NULL) == 0);
	qctl_init(&c, 1000000, -1); /* 1 ms */
	usleep(5000);
	CHECK(qctl_check(&c) == -ETIMEDOUT);
	CHECK(qctl_stopped(&c) == -ETIMEDOUT);

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	qctl_init(&c, 60 * NSEC_PER_SEC, sv[0]);
	CHECK(qctl_check(&c) == 0);
	CHECK(write(sv[1], "x", 1) == 1); /* data from a client still there is no hang-up */
	CHECK(qctl_check(&c) == 0);
	close(sv[1]);
	CHECK(qctl_check(&c) == -ECANCELED);
	qctl_cancel(&c); /* the first reason stays */
	CHECK(qctl_stopped(&c) == -ECANCELED);
	close(sv[0]);

	qctl_init(&c, 0, -1);
	qctl_cancel(&c);
	CHECK(qctl_check(&c) == -ECANCELED);
	qctl_set_current(&c);
	CHECK(qctl_current() == &c);
	qctl_set_current(NULL);
}

struct gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool open;
	atomic_int started, ran;
};

static void blocked_job(void *arg)
{
	struct gate *g = arg;

	atomic_fetch_add(&g->started, 1);
	pthread_mutex_lock(&g->lock);
	while (!g->open)
		pthread_cond_wait(&g->cond, &g->lock);
	pthread_mutex_unlock(&g->lock);
	atomic_fetch_add(&g->ran, 1);
}

static void test_qpool(void)
{
	struct gate g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, 0, 0};
	struct qpool *p = qpool__new(1, 2);

	CHECK(p != NULL);
	if (!p)
		return;
	CHECK(qpool__submit(p, blocked_job, &g) == 0);
	for (int i = 0; i < 1000 && atomic_load(&g.started) == 0; i++)
		usleep(1000); /* the worker takes the first job */
	CHECK(qpool__submit(p, blocked_job, &g) == 0);
	CHECK(qpool__submit(p, blocked_job, &g) == 0);
	/* one running, two waiting: the queue is full */
	CHECK(qpool__submit(p, blocked_job, &g) == -EBUSY);
	CHECK_EQ_U64(qpool__busy(p), 3);
	pthread_mutex_lock(&g.lock);
	g.open = true;
	pthread_cond_broadcast(&g.cond);
	pthread_mutex_unlock(&g.lock);
	qpool__free(p); /* runs what was queued */
	CHECK_EQ_U64(atomic_load(&g.ran), 3);
}

static void test_membudget(void)
{
	struct membudget *m = membudget__new(1000);

	CHECK(m != NULL);
	if (!m)
		return;
	CHECK(membudget__fits(m, 1000));
	CHECK(!membudget__fits(m, 1001));
	CHECK(membudget__reserve(m, 600) == 0);
	CHECK(membudget__reserve(m, 500) == -EAGAIN);
	CHECK(membudget__reserve(m, 400) == 0);
	CHECK_EQ_U64(membudget__used(m), 1000);
	membudget__release(m, 600);
	membudget__release(m, 400);
	CHECK_EQ_U64(membudget__used(m), 0);
	/* idle: memory is trimmed at once */
	for (int i = 0; i < 200 && membudget__trims(m) == 0; i++)
		usleep(10000);
	CHECK(membudget__trims(m) >= 1);
	CHECK_EQ_U64(membudget_cost(10), 10 * MEMBUDGET_FACTOR);
	membudget__free(m);

	m = membudget__new(0); /* unbounded: counted only */
	CHECK(m && membudget__fits(m, UINT64_MAX) && membudget__reserve(m, 1ULL << 50) == 0);
	membudget__free(m);
}

/* A block of one service, "svc<i>", holding one sample of value i at T0 + i s. */
#define T0 1700000000000000000ULL
static int put_block(struct objstore *s, int i)
{
	char name[16], key[OBJSTORE_MAX_KEY];
	struct svcdata *sd;
	struct buf out = {0};
	struct block_write_opts o = {.tenant = "t"};
	uint64_t t = T0 + (uint64_t)i * NSEC_PER_SEC;
	int e;

	snprintf(name, sizeof(name), "svc%d", i);
	sd = svcdata__new(name);
	{
		struct sd_type ty = {svcdata__string(sd, "samples", 7),
				     svcdata__string(sd, "count", 5), 0, 0, 0};
		uint32_t series = svcdata__series(sd, svcdata__type(sd, &ty), NULL, 0);
		uint32_t stack = svcdata__stack(sd, NULL, 0);

		e = svcdata__row(sd, series, stack, t, i);
	}
	if (!e)
		e = block_encode(&sd, 1, &o, &out);
	if (!e)
		e = block_key("t", t, t, 0, key, sizeof(key));
	if (!e)
		e = objstore__put(s, key, out.data, out.len);
	svcdata__free(sd);
	buf_free(&out);
	return e;
}

static bool want_odd(void *ctx, const struct block_service_info *si)
{
	(void)ctx;
	return (si->name[strlen(si->name) - 1] - '0') % 2 == 1;
}

static void test_fetch(void)
{
	char url[128], err[256];
	struct objstore *s;
	block_refs refs = {0};
	struct fetch_opts fo = {.mask = SECS_ALL, .want = want_odd, .parallel = 3};
	struct fetcher *f;
	struct fetch_block *fb;
	struct qctl ctl;
	size_t n = 0, wanted = 0;
	bool in_order = true;
	int e;

	snprintf(url, sizeof(url), "file://%s/store", tmpdir);
	s = objstore__open(url, err, sizeof(err));
	CHECK(s != NULL);
	if (!s)
		return;
	for (int i = 0; i < 10; i++)
		CHECK(put_block(s, i) == 0);
	CHECK(reader_list(s, "t", &refs) == 0);
	CHECK_EQ_U64(refs.len, 10);
	fo.store = s;
	fo.refs = &refs;
	f = fetcher__new(&fo);
	CHECK(f != NULL);
	while (f && (fb = fetcher__next(f, &e, err, sizeof(err)))) {
		CHECK_EQ_U64(fb->bi.nservices, 1);
		in_order &= fb->bi.min_time_ns == refs.v[n].min_ms * 1000000;
		if (fb->svc[0]) {
			wanted++;
			svcdata__free(fb->svc[0]); /* taken by the caller */
			fb->svc[0] = NULL;
		}
		n++;
	}
	CHECK(e == 0);
	CHECK_EQ_U64(n, 10);
	CHECK(in_order);
	CHECK_EQ_U64(wanted, 5);
	fetcher__free(f);

	/* a query stopped (its client gone): no block is handed over, and why is said */
	qctl_init(&ctl, 0, -1);
	qctl_cancel(&ctl);
	qctl_set_current(&ctl);
	f = fetcher__new(&fo);
	CHECK(f && !fetcher__next(f, &e, err, sizeof(err)) && e == -ECANCELED);
	CHECK(strstr(err, "cancelled") != NULL);
	fetcher__free(f);
	qctl_set_current(NULL);

	/* a block deleted since it was listed (compaction): an error, or empty when asked */
	CHECK(objstore__delete(s, refs.v[3].key) == 0);
	f = fetcher__new(&fo);
	for (n = 0; f && (fb = fetcher__next(f, &e, err, sizeof(err))); n++)
		;
	CHECK(e == -ENOENT && n == 3);
	fetcher__free(f);
	fo.skip_missing = true;
	f = fetcher__new(&fo);
	for (n = 0; f && (fb = fetcher__next(f, &e, err, sizeof(err))); n++)
		if (n == 3)
			CHECK(fb->bi.nservices == 0);
	CHECK(e == 0 && n == 10);
	fetcher__free(f);
	VEC_FREE(&refs);
	objstore__free(s);
}

int main(void)
{
	char cmd[128];

	if (!mkdtemp(tmpdir))
		return 1;
	RUN(test_qctl);
	RUN(test_qpool);
	RUN(test_membudget);
	RUN(test_fetch);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return unit_done();
}
