/* SPDX-License-Identifier: Apache-2.0 */
/* gzip in and out of buffers, the inflating side bounded (request bodies come from the network). */
#ifndef SONDE_GZIP_H
#define SONDE_GZIP_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* gzip-compresses in[0..len) and appends to out. Returns 0 or -errno. */
int gzip_append(const void *in, size_t len, struct buf *out);
/* Inflates gzip data into out, failing with -EFBIG past max bytes, -EBADMSG when corrupt. */
int gunzip_bounded(const uint8_t *data, size_t len, size_t max, struct buf *out);

#endif
