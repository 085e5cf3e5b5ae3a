// SPDX-License-Identifier: Apache-2.0
/*
 * collector/segment: requests acknowledged only once their block is in a real directory store,
 * heads per tenant, written by age, size, drain or free; the memory bound; a failed write fails
 * every request of its head and acknowledges none.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"
#include "collector_fixture.h"
#include "otlp_fixture.h"
#include "../../collector/ingest.h"
#include "../../collector/reader.h"
#include "../../collector/segment.h"

#define SEC NSEC_PER_SEC

struct acks {
	pthread_mutex_t lock;
	int ok, failed, last_err;
};

static void done(void *ctx, int err)
{
	struct acks *a = ctx;

	pthread_mutex_lock(&a->lock);
	if (err) {
		a->failed++;
		a->last_err = err;
	} else {
		a->ok++;
	}
	pthread_mutex_unlock(&a->lock);
}

static int acked(struct acks *a)
{
	int n;

	pthread_mutex_lock(&a->lock);
	n = a->ok + a->failed;
	pthread_mutex_unlock(&a->lock);
	return n;
}

/* A decoded request of service (3 samples: 1 + 1 + 5). */
static struct ingest_request *request(const char *service)
{
	struct otlp_builder b;
	struct buf body = {0};
	struct ingest_request *r = NULL;
	char msg[INGEST_MSG_SIZE];

	build_request(&b, service);
	pack(&b, &body);
	CHECK(ingest_decode(body.data, body.len, NULL, &r, msg, sizeof(msg)) == 0);
	buf_free(&body);
	return r;
}

/* The sum of the samples of tenant's blocks, and how many blocks there are. */
static int64_t stored_total(struct objstore *s, const char *tenant, size_t *ret_blocks)
{
	block_refs refs = {0};
	int64_t total = 0;
	char err[256];

	CHECK(reader_list(s, tenant, &refs) == 0);
	*ret_blocks = refs.len;
	for (size_t i = 0; i < refs.len; i++) {
		struct block_info bi = {0};

		CHECK_EQ_U64(refs.v[i].level, 0);
		CHECK(reader_footer(s, &refs.v[i], &bi, err, sizeof(err)) == 0);
		for (size_t k = 0; k < bi.nservices; k++) {
			int e = 0;
			struct svcdata *sd = reader_service(s, &refs.v[i], &bi, k, SECS_ALL, &e,
							    err, sizeof(err));

			CHECK(sd != NULL);
			if (sd)
				total += fixture_total(sd);
			svcdata__free(sd);
		}
		block_info_free(&bi);
	}
	VEC_FREE(&refs);
	return total;
}

static void test_ack_after_write(void)
{
	struct fixture_store f;
	struct segwriter_opts o = {.max_age_ns = 3600 * SEC};
	struct segwriter *w;
	struct segwriter_stats st;
	struct acks a = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0};
	struct ingest_request *checkout = request("checkout"), *cart = request("cart");
	size_t blocks = 0;

	if (!fixture_store_open(&f) || !checkout || !cart)
		return;
	o.store = f.store;
	w = segwriter__new(&o);
	CHECK(w != NULL);
	if (!w)
		return;
	for (int i = 0; i < 3; i++)
		CHECK(segwriter__add(w, "t", checkout, done, &a) == 0);
	CHECK(segwriter__add(w, "t", cart, done, &a) == 0);
	CHECK(segwriter__add(w, "u", checkout, done, &a) == 0);
	/* an hour's age and 8 MiB are far: nothing is written, nothing acknowledged */
	usleep(200000);
	CHECK_EQ_U64(acked(&a), 0);
	segwriter__stats(w, &st);
	CHECK_EQ_U64(st.open_heads, 2);
	CHECK(st.pending_bytes > 0);
	CHECK(stored_total(f.store, "t", &blocks) == 0 && blocks == 0);
	/* drained: one block per tenant, every request acknowledged after it was stored */
	CHECK(segwriter__drain(w, clock_ns(CLOCK_MONOTONIC) + 30 * SEC) == 0);
	CHECK_EQ_U64(a.ok, 5);
	CHECK_EQ_U64(a.failed, 0);
	CHECK_EQ_U64(stored_total(f.store, "t", &blocks), 4 * 7);
	CHECK_EQ_U64(blocks, 1);
	CHECK_EQ_U64(stored_total(f.store, "u", &blocks), 7);
	CHECK_EQ_U64(blocks, 1);
	segwriter__stats(w, &st);
	CHECK_EQ_U64(st.requests, 5);
	CHECK_EQ_U64(st.acked, 5);
	CHECK_EQ_U64(st.samples, 5 * 3);
	CHECK_EQ_U64(st.profiles, 5);
	CHECK_EQ_U64(st.blocks, 2);
	CHECK_EQ_U64(st.pending_bytes, 0);
	CHECK_EQ_U64(st.open_heads, 0);
	/* draining refuses what comes after */
	CHECK(segwriter__add(w, "t", checkout, done, &a) == -EBUSY);
	segwriter__stats(w, &st);
	CHECK_EQ_U64(st.refused, 1);
	segwriter__free(w);
	CHECK_EQ_U64(acked(&a), 5); /* a refused request is never called back */
	ingest_request_free(checkout);
	ingest_request_free(cart);
	fixture_store_close(&f);
}

/* A head is written by its size, or its age, without a drain. */
static void test_size_and_age(void)
{
	struct fixture_store f;
	struct segwriter_opts o = {.max_bytes = 1, .max_age_ns = 3600 * SEC, .threads = 1};
	struct segwriter *w;
	struct acks a = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0};
	struct ingest_request *r = request("checkout");
	size_t blocks = 0;

	if (!fixture_store_open(&f) || !r)
		return;
	o.store = f.store;
	w = segwriter__new(&o);
	CHECK(w && segwriter__add(w, "t", r, done, &a) == 0);
	for (int i = 0; i < 300 && acked(&a) < 1; i++)
		usleep(10000);
	CHECK_EQ_U64(a.ok, 1);
	segwriter__free(w);
	o.max_bytes = 0;
	o.max_age_ns = 100 * 1000000ULL;
	w = segwriter__new(&o);
	CHECK(w && segwriter__add(w, "t", r, done, &a) == 0);
	for (int i = 0; i < 300 && acked(&a) < 2; i++)
		usleep(10000);
	CHECK_EQ_U64(a.ok, 2);
	segwriter__free(w);
	CHECK_EQ_U64(stored_total(f.store, "t", &blocks), 2 * 7);
	CHECK_EQ_U64(blocks, 2);
	ingest_request_free(r);
	fixture_store_close(&f);
}

/* Past max_pending_bytes new requests are refused; free writes what is open, as drain does. */
static void test_bound_and_free(void)
{
	struct fixture_store f;
	struct segwriter_opts o = {.max_age_ns = 3600 * SEC, .max_pending_bytes = 1};
	struct segwriter *w;
	struct segwriter_stats st;
	struct acks a = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0};
	struct ingest_request *r = request("checkout");
	size_t blocks = 0;

	if (!fixture_store_open(&f) || !r)
		return;
	o.store = f.store;
	w = segwriter__new(&o);
	CHECK(w && segwriter__add(w, "t", r, done, &a) == 0);
	CHECK(segwriter__add(w, "t", r, done, &a) == -EBUSY);
	CHECK(segwriter__add(w, "u", r, done, &a) == -EBUSY); /* the bound is for all tenants */
	segwriter__stats(w, &st);
	CHECK_EQ_U64(st.refused, 2);
	CHECK_EQ_U64(st.requests, 1);
	segwriter__free(w);
	CHECK_EQ_U64(a.ok, 1);
	CHECK_EQ_U64(stored_total(f.store, "t", &blocks), 7);
	CHECK_EQ_U64(blocks, 1);
	ingest_request_free(r);
	fixture_store_close(&f);
}

/* A write that fails fails every request of the head, acknowledges none, and stores nothing. */
static void test_write_failure(void)
{
	struct fixture_store f;
	struct segwriter_opts o = {.max_age_ns = 3600 * SEC};
	struct segwriter *w;
	struct segwriter_stats st;
	struct acks a = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0};
	struct ingest_request *r = request("checkout");
	size_t blocks = 0;

	if (!fixture_store_open(&f) || !r)
		return;
	/* an object "t" where the tenant's directory must go: t/blocks/... cannot be created */
	CHECK(objstore__put(f.store, "t", "x", 1) == 0);
	o.store = f.store;
	w = segwriter__new(&o);
	CHECK(w && segwriter__add(w, "t", r, done, &a) == 0);
	CHECK(segwriter__add(w, "t", r, done, &a) == 0);
	CHECK(segwriter__add(w, "ok", r, done, &a) == 0);
	CHECK(segwriter__drain(w, clock_ns(CLOCK_MONOTONIC) + 30 * SEC) == 0);
	CHECK_EQ_U64(a.failed, 2);
	CHECK(a.last_err < 0);
	CHECK_EQ_U64(a.ok, 1); /* the other tenant's head is not failed with it */
	segwriter__stats(w, &st);
	CHECK_EQ_U64(st.failed, 2);
	CHECK_EQ_U64(st.acked, 1);
	CHECK_EQ_U64(st.write_errors, 1);
	CHECK_EQ_U64(st.blocks, 1);
	CHECK_EQ_U64(st.pending_bytes, 0);
	segwriter__free(w);
	CHECK_EQ_U64(stored_total(f.store, "ok", &blocks), 7);
	ingest_request_free(r);
	fixture_store_close(&f);
}

/*
 * A tenant's data is written at most once per max_age, and at once after a quiet max_age: a
 * lone agent's request is not held for the age (acknowledged long before it), while a burst
 * still makes one block per max_age.
 */
static void test_quiet_tenant_at_once(void)
{
	struct fixture_store f;
	struct segwriter_opts o = {.max_age_ns = 1500 * 1000000ULL};
	struct segwriter *w;
	struct acks a = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0};
	struct ingest_request *r = request("checkout");
	size_t blocks = 0;
	uint64_t t0;

	if (!fixture_store_open(&f) || !r)
		return;
	o.store = f.store;
	w = segwriter__new(&o);
	CHECK(w != NULL);
	if (!w)
		return;
	/* a burst of a new tenant: one block, once max_age has passed */
	for (int i = 0; i < 3; i++)
		CHECK(segwriter__add(w, "t", r, done, &a) == 0);
	for (int i = 0; i < 400 && acked(&a) < 3; i++)
		usleep(10000);
	CHECK_EQ_U64(acked(&a), 3);
	CHECK(stored_total(f.store, "t", &blocks) == 3 * 7 && blocks == 1);
	/* quiet for max_age: the next request is written at once */
	usleep(1600 * 1000);
	t0 = clock_ns(CLOCK_MONOTONIC);
	CHECK(segwriter__add(w, "t", r, done, &a) == 0);
	while (acked(&a) < 4 && clock_ns(CLOCK_MONOTONIC) - t0 < 5 * SEC)
		usleep(2000);
	CHECK_EQ_U64(acked(&a), 4);
	CHECK(clock_ns(CLOCK_MONOTONIC) - t0 < o.max_age_ns);
	CHECK(stored_total(f.store, "t", &blocks) == 4 * 7 && blocks == 2);
	segwriter__free(w);
	ingest_request_free(r);
	fixture_store_close(&f);
}

int main(void)
{
	RUN(test_ack_after_write);
	RUN(test_size_and_age);
	RUN(test_bound_and_free);
	RUN(test_write_failure);
	RUN(test_quiet_tenant_at_once);
	return unit_done();
}
