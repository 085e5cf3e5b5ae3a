/* SPDX-License-Identifier: Apache-2.0 */
/* The web UI's files (collector/ui/), embedded at build time by scripts/embed.sh. */
#ifndef SONDE_UI_ASSETS_H
#define SONDE_UI_ASSETS_H

#include <stddef.h>

struct ui_asset {
	const char *name; /* "index.html" */
	const char *type; /* Content-Type */
	const unsigned char *data;
	size_t len;
};

extern const struct ui_asset ui_assets[];
extern const size_t ui_asset_count;

#endif
