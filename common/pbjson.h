/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The proto3 JSON mapping for messages protoc-c generated, by their descriptors: one codec for
 * every message the Connect API serves (docs/pyroscope.md), with no code per message.
 *
 * Reading takes field names in lowerCamelCase and as written in the .proto file, 64-bit
 * integers as numbers or strings, enums by name or number, bytes in base64 (standard or URL
 * alphabet), null as the default; unknown fields are ignored. The JSON is turned into the
 * message's protobuf wire form and unpacked by protobuf-c, so both codecs share one decoder.
 * Writing gives lowerCamelCase names, 64-bit integers as strings, enums by name, and leaves out
 * fields holding their default (0, "", false, an empty list, no message).
 */
#ifndef SONDE_PBJSON_H
#define SONDE_PBJSON_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

#include "buf.h"

/*
 * Decodes JSON text into a new message of type d (free it with
 * protobuf_c_message_free_unpacked(msg, NULL)). 0, -EINVAL (a reason in err: malformed JSON,
 * a value of the wrong type), or -ENOMEM.
 */
int pbjson_decode(const ProtobufCMessageDescriptor *d, const void *json, size_t len,
		  ProtobufCMessage **ret, char *err, size_t err_size);
/* Appends msg as JSON. 0 or -ENOMEM. */
int pbjson_encode(const ProtobufCMessage *msg, struct buf *out);

#endif
