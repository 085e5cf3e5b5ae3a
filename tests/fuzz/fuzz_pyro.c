// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: what the Pyroscope clients send (collector/pyro_ingest.h, common/pbjson.h).
 * The first byte picks the door: a PushRequest in protobuf or JSON, an /ingest body as pprof,
 * as multipart/form-data or as folded lines (its name parameter the first line), or a Connect
 * query in JSON. Each must refuse cleanly or decode within its limits; what it decodes is then
 * turned into protobuf and back.
 */
#include <stdint.h>
#include <string.h>

#include "../../collector/pyro_delta.h"
#include "../../collector/pyro_ingest.h"
#include "../../common/pbjson.h"
#include "querier/v1/querier.pb-c.h"

/* One for the run, as in the server: pushes turn into deltas of the previous ones (bounded). */
static struct pyro_delta *delta;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pprof_limits limits = {.max_bytes = 4 << 20, .max_decoded = 64 << 20};
	struct pyro_batch batch = {0};
	char msg[512], name[256] = "app.cpu{env=fuzz}";
	struct pyro_ingest_params p = {.name = name, .from = "1700000000", .sample_rate = "100"};
	const uint8_t *nl;
	uint8_t door;

	if (!delta)
		delta = pyro_delta__new(100000);
	if (!size)
		return 0;
	door = data[0] % 6;
	data++;
	size--;
	switch (door) {
	case 0:
	case 1:
		pyro_push(door == 1, data, size, &limits, 1, delta, "t", &batch, msg, sizeof(msg));
		break;
	case 2:
		p.format = "pprof";
		pyro_ingest(&p, data, size, &limits, 1, &batch, msg, sizeof(msg));
		break;
	case 3:
		p.content_type = "multipart/form-data; boundary=XyZ";
		pyro_ingest(&p, data, size, &limits, 1, &batch, msg, sizeof(msg));
		break;
	case 4:
		nl = memchr(data, '\n', size < sizeof(name) ? size : sizeof(name) - 1);
		if (nl) {
			memcpy(name, data, (size_t)(nl - data));
			name[nl - data] = 0;
			size -= (size_t)(nl - data) + 1;
			data = nl + 1;
		}
		pyro_ingest(&p, data, size, &limits, 1, &batch, msg, sizeof(msg));
		break;
	default: {
		ProtobufCMessage *m = NULL;

		if (pbjson_decode(&querier__v1__select_series_request__descriptor, data, size, &m,
				  msg, sizeof(msg)) == 0) {
			struct buf out = {0};

			pbjson_encode(m, &out);
			buf_free(&out);
			protobuf_c_message_free_unpacked(m, NULL);
		}
		break;
	}
	}
	for (size_t i = 0; i < batch.svc.len; i++) {
		struct buf out = {0};

		pprof_encode(batch.svc.v[i], &out);
		buf_free(&out);
	}
	pyro_batch_free(&batch);
	return 0;
}
