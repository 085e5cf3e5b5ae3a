// SPDX-License-Identifier: Apache-2.0
/* collector/ingest.c: OTLP requests decoded, checked and refused with a clear message. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "unit.h"
#include "../../common/gzip.h"
#include "../../collector/block.h"
#include "../../collector/ingest.h"
#include "../../collector/objstore_impl.h"
#include "../../profile/svcdata.h"
#include "../../common/util.h"
#include "otlp_fixture.h"
#include "../../proto/otlp_pb.h"

static int decode(struct buf *body, char *msg, size_t size, struct ingest_request **ret)
{
	return ingest_decode(body->data, body->len, NULL, ret, msg, size);
}

static void test_ingest(void)
{
	struct otlp_builder b;
	struct ingest_request *r = NULL;
	struct ingest_counts c;
	struct buf body = {0}, gz = {0}, out = {0};
	const char *const *names;
	struct svcdata *sd;
	char msg[INGEST_MSG_SIZE];

	build_request(&b, "checkout");
	pack(&b, &body);
	CHECK(decode(&body, msg, sizeof(msg), &r) == 0);
	if (!r)
		return;
	ingest_request_counts(r, &c);
	CHECK_EQ_U64(c.resources, 1);
	CHECK_EQ_U64(c.profiles, 1);
	CHECK_EQ_U64(c.samples, 3);
	CHECK_EQ_U64(ingest_request_services(r, &names), 1);
	CHECK_STR(names[0], "checkout");
	sd = svcdata__new(names[0]);
	CHECK(ingest_apply(r, &sd, 1) == 0);
	CHECK_EQ_U64(sd->rows.len, 3);
	CHECK_EQ_U64(sd->profiles, 1);
	CHECK_EQ_U64(sd->rows.v[2].time_ns, 1700000000000000000ULL); /* the profile's time */
	CHECK_EQ_U64(sd->rows.v[2].value, 5);
	/* the leaf of the first stack is "work", called by "main" */
	{
		const struct sd_node *leaf = &sd->nodes.v[sd->rows.v[0].stack];
		const struct sd_location *l = &sd->locations.v[leaf->location];
		const struct sd_function *f = &sd->functions.v[sd->lines.v[l->first_line].function];

		CHECK_STR(strtab_get(&sd->strings, f->name), "work");
		CHECK_STR(strtab_get(&sd->strings, l->frame_type), "native");
		CHECK_EQ_U64(sd->nodes.v[leaf->parent].parent, 0);
		CHECK_EQ_U64(sd->mappings.v[l->mapping].start, 0x1000);
	}
	/* the unsymbolized frame keeps its mapping and address */
	{
		const struct sd_location *l =
			&sd->locations.v[sd->nodes.v[sd->rows.v[2].stack].location];

		CHECK_EQ_U64(l->address, 0x1300);
		CHECK_EQ_U64(l->nlines, 0);
		CHECK_STR(strtab_get(&sd->strings, sd->mappings.v[l->mapping].filename),
			  "/usr/bin/app");
	}
	CHECK_STR(svcdata__label(sd, sd->rows.v[0].series, "thread.name"), "main-thread");
	CHECK_STR(svcdata__label(sd, sd->rows.v[0].series, "process.pid"), "4242");
	CHECK(svcdata__label(sd, sd->rows.v[0].series, "service.name") == NULL);
	svcdata__free(sd);
	ingest_request_free(r);

	/* gzip in; a bomb is stopped at the limit */
	CHECK(gzip_append(body.data, body.len, &gz) == 0);
	CHECK(gunzip_bounded(gz.data, gz.len, 1 << 20, &out) == 0);
	CHECK(out.len == body.len && memcmp(out.data, body.data, body.len) == 0);
	buf_reset(&out);
	CHECK(gunzip_bounded(gz.data, gz.len, body.len - 1, &out) == -EFBIG);
	buf_reset(&out);
	CHECK(gunzip_bounded(gz.data, gz.len / 2, 1 << 20, &out) == -EBADMSG);
	buf_reset(&out);
	CHECK(gunzip_bounded((const uint8_t *)"not gzip", 8, 1 << 20, &out) == -EBADMSG);

	/* no service.name: OpenTelemetry's unknown_service */
	build_request(&b, NULL);
	pack(&b, &body);
	CHECK(decode(&body, msg, sizeof(msg), &r) == 0);
	if (r) {
		ingest_request_services(r, &names);
		CHECK_STR(names[0], "unknown_service");
		ingest_request_free(r);
	}

	/* bad input: clear messages */
	r = NULL;
	CHECK(ingest_decode((const uint8_t *)"\xff\xff\xff", 3, NULL, &r, msg, sizeof(msg)) ==
	      -EBADMSG);
	CHECK(strstr(msg, "not a valid ExportProfilesServiceRequest") != NULL);
	build_request(&b, "x");
	b.stack1_locs[0] = 9;
	pack(&b, &body);
	CHECK(decode(&body, msg, sizeof(msg), &r) == -EBADMSG);
	CHECK_STR(msg, "stack_table[1].location_indices[0] = 9 out of range (location_table has 4 "
		       "entries)");
	build_request(&b, "x");
	b.sample1.stack_index = 3;
	pack(&b, &body);
	CHECK(decode(&body, msg, sizeof(msg), &r) == -EBADMSG);
	CHECK(strstr(msg, "resource_profiles[0].scope_profiles[0].profiles[0].samples[1].stack_"
			  "index 3 out of range") != NULL);
	build_request(&b, "x");
	b.sample0.n_timestamps_unix_nano = 1;
	pack(&b, &body);
	CHECK(decode(&body, msg, sizeof(msg), &r) == -EBADMSG);
	CHECK(strstr(msg, "2 values but 1 timestamps") != NULL);
	build_request(&b, "x");
	b.attr1.key_strindex = 100;
	pack(&b, &body);
	CHECK(decode(&body, msg, sizeof(msg), &r) == -EBADMSG);
	CHECK(strstr(msg, "attribute_table[1].a->key_strindex") != NULL ||
	      strstr(msg, "key_strindex") != NULL);
	build_request(&b, "x");
	b.lines[0].function_index = -1;
	pack(&b, &body);
	CHECK(decode(&body, msg, sizeof(msg), &r) == -EBADMSG);
	CHECK(strstr(msg, "function_index -1 out of range") != NULL);
	/* too big, as given and as decoded */
	build_request(&b, "x");
	pack(&b, &body);
	{
		struct ingest_limits lim = {.max_body = 10};

		CHECK(ingest_decode(body.data, body.len, &lim, &r, msg, sizeof(msg)) == -EFBIG);
		lim.max_body = 0;
		lim.max_decoded = 64;
		CHECK(ingest_decode(body.data, body.len, &lim, &r, msg, sizeof(msg)) == -EFBIG);
		CHECK(strstr(msg, "decoded") != NULL);
	}
	buf_free(&body);
	buf_free(&gz);
	buf_free(&out);
}

int main(void)
{
	RUN(test_ingest);
	return unit_done();
}
