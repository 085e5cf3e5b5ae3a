// SPDX-License-Identifier: Apache-2.0
/*
 * Commands on a collector's storage, read directly (no collector needed):
 *   sonde inspect STORAGE_URL   what blocks there are and what is in them; checks them all
 *   sonde export STORAGE_URL    a service's profile over a time range, folded or pprof
 *   sonde compact STORAGE_URL   a compaction pass (when no collector compacts this storage)
 *   sonde import STORAGE_URL F  OTLP request files stored as blocks
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "../collector/compactor.h"
#include "../collector/engine.h"
#include "../collector/ingest.h"
#include "../collector/query.h"
#include "../collector/reader.h"
#include "../collector/retention.h"
#include "../collector/view.h"
#include "../collector/tenant.h"
#include "../common/gzip.h"
#include "../common/hash.h"
#include "../common/json.h"
#include "../common/util.h"

static const char *const section_names[SEC_NR] = {
	"strings", "mappings",	 "functions", "locations", "stacks",
	"series",  "col_series", "col_time",  "col_stack", "col_value",
};

/* Opens a storage; one on the file system must exist already unless the command writes to it. */
static struct objstore *open_store(const char *cmd, const char *url, bool create)
{
	const char *path = strncmp(url, "file://", 7) == 0 ? url + 7 : url;
	struct objstore *s;
	struct stat st;
	char err[512];
	bool local = !strstr(url, "://") || strncmp(url, "file://", 7) == 0;

	if (!create && local && stat(path, &st) != 0) {
		fprintf(stderr, "sonde %s: no storage at %s: %s\n", cmd, path, strerror(errno));
		return NULL;
	}
	s = objstore__open(url, err, sizeof(err));
	if (!s)
		fprintf(stderr, "sonde %s: %s\n", cmd, err);
	return s;
}

static void fmt_time(uint64_t ns, char *out, size_t size)
{
	time_t t = (time_t)(ns / NSEC_PER_SEC);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- inspect ------------------------------------------------------------------------------ */

struct totals {
	uint64_t blocks, visible, bytes, services, samples, profiles;
	uint64_t section_bytes[SEC_NR];
	uint64_t corrupt;
	uint64_t contradictions; /* of those: blocks that disagree with others or themselves */
};

/* A contradiction in a store: counted in tot->corrupt, said on stderr and in the listing. */
static void contradiction(struct totals *tot, struct buf *out, bool json, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void contradiction(struct totals *tot, struct buf *out, bool json, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	tot->corrupt++;
	tot->contradictions++;
	fprintf(stderr, "sonde inspect: %s\n", msg);
	if (!json)
		buf_printf(out, "  CONTRADICTION: %s\n", msg);
}

/*
 * What the blocks of a tenant say about each other, checked apart from the view's own logic:
 * no source is counted by two counted blocks, no rejected output leaves samples counted by
 * none, levels exist and span no more than their window allows, a block replaces nothing of a
 * higher level, and a merged block's profiles and totals per service are the sums of its
 * sources' (where those are still stored).
 */
static void check_store(const struct store_view *v, const struct compactor_opts *co,
			struct totals *tot, struct buf *out, bool json)
{
	struct hmap claimed = {0}; /* source id hash -> index + 1 of a counted block naming it */

	for (size_t i = 0; i < v->b.len; i++) {
		const struct view_block *b = &v->b.v[i];
		uint64_t span = b->ref.max_ms - MIN(b->ref.min_ms, b->ref.max_ms);

		if (b->ref.level > co->nlevels) {
			contradiction(tot, out, json,
				      "%s: level %u cannot occur (the store has %u levels; "
				      "--compaction-levels)",
				      b->ref.key, b->ref.level, co->nlevels);
		} else if (b->ref.level &&
			   span > 2 * (co->levels[b->ref.level - 1].window_ns / 1000000)) {
			contradiction(tot, out, json,
				      "%s: spans %llu s, more than a level-%u window allows",
				      b->ref.key, (unsigned long long)(span / 1000), b->ref.level);
		}
		if (b->has_info && b->bi.level != b->ref.level)
			contradiction(tot, out, json, "%s: its key says level %u, its footer %u",
				      b->ref.key, b->ref.level, b->bi.level);
		if (b->state == VIEW_REJECTED && b->uncovered)
			contradiction(
				tot, out, json,
				"%s: overlaps a counted block in part and names %u blocks no "
				"longer stored that no counted block holds: their samples may be "
				"counted by no block",
				b->ref.key, b->uncovered);
		if (!b->has_info || !b->bi.nsources)
			continue;
		/* the sources it names, when all are still stored */
		{
			bool all = true;

			for (uint32_t k = 0; k < b->bi.nsources && all; k++) {
				int64_t x = view_find(v, b->bi.sources[k]);

				all = x >= 0 && v->b.v[x].state != VIEW_GONE &&
				      (v->b.v[x].has_info || v->b.v[x].ref.level == 0);
				if (x >= 0 && v->b.v[x].ref.level > b->ref.level)
					contradiction(tot, out, json,
						      "%s: replaces %s, of a higher level",
						      b->ref.key, v->b.v[x].ref.key);
			}
			/* level-0 sources have no footer in the view: their sums are not checked */
			for (uint32_t k = 0; k < b->bi.nsources && all; k++)
				all = v->b.v[view_find(v, b->bi.sources[k])].has_info;
			for (uint32_t j = 0; all && j < b->bi.nservices; j++) {
				const struct block_service_info *si = &b->bi.services[j];
				uint64_t profiles = 0;
				int64_t total = 0;

				for (uint32_t k = 0; k < b->bi.nsources; k++) {
					const struct block_info *src =
						&v->b.v[view_find(v, b->bi.sources[k])].bi;
					int x = block_find_service(src, si->name);

					if (x < 0)
						continue;
					profiles += src->services[x].profiles;
					total = value_add(total, src->services[x].total);
				}
				if (profiles != si->profiles || total != si->total)
					contradiction(tot, out, json,
						      "%s: service %s: %llu profiles and a total "
						      "of %lld, but "
						      "its sources add up to %llu and %lld",
						      b->ref.key, si->name,
						      (unsigned long long)si->profiles,
						      (long long)si->total,
						      (unsigned long long)profiles,
						      (long long)total);
			}
		}
		if (b->state != VIEW_SELECTED)
			continue;
		for (uint32_t k = 0; k < b->bi.nsources; k++) {
			const char *id = b->bi.sources[k];
			uint64_t h = hash_bytes(id, strlen(id), 3) | 1;
			uintptr_t other = (uintptr_t)hmap_get(&claimed, h);

			if (other)
				contradiction(tot, out, json,
					      "%s and %s both count the samples of %s",
					      v->b.v[other - 1].ref.key, b->ref.key, id);
			else
				hmap_put(&claimed, h, (void *)(uintptr_t)(i + 1));
		}
	}
	/* a counted block that a counted block replaces */
	for (size_t i = 0; i < v->b.len; i++) {
		const struct view_block *b = &v->b.v[i];
		uintptr_t by = (uintptr_t)hmap_get(&claimed,
						   hash_bytes(b->ref.id, strlen(b->ref.id), 3) | 1);

		if (b->state == VIEW_SELECTED && by)
			contradiction(tot, out, json,
				      "%s is counted, and so is %s, which replaces it", b->ref.key,
				      v->b.v[by - 1].ref.key);
	}
	hmap_free(&claimed);
}

static const char *state_name(enum view_state st)
{
	switch (st) {
	case VIEW_SELECTED:
		return "counted";
	case VIEW_COVERED:
		return "replaced";
	case VIEW_REJECTED:
		return "rejected";
	case VIEW_EXPIRED:
		return "expired";
	case VIEW_GONE:
		break;
	}
	return "gone";
}

static int inspect_tenant(struct objstore *s, const char *tenant, bool verify, bool json,
			  bool first, const struct compactor_opts *co, struct totals *tot,
			  struct buf *out)
{
	struct store_view view = {0};
	char err[512];
	int e;

	e = reader_view(s, tenant, 0, UINT64_MAX, 0, &view, err, sizeof(err));
	if (e) {
		fprintf(stderr, "sonde inspect: tenant %s: %s\n", tenant, err);
		store_view_free(&view);
		return e;
	}
	if (json) {
		buf_printf(out, "%s{\"name\":", first ? "" : ",");
		json_string(out, tenant);
		buf_puts(out, ",\"blocks\":[");
	} else {
		buf_printf(out,
			   "tenant %s: %zu blocks, %llu counted, %llu replaced, %llu rejected\n",
			   tenant, view.b.len, (unsigned long long)view.selected,
			   (unsigned long long)view.covered, (unsigned long long)view.rejected);
		check_store(&view, co, tot, out, json);
	}
	for (size_t i = 0; i < view.b.len; i++) {
		const struct block_ref *r = &view.b.v[i].ref;
		struct block_info bi = {0};
		bool vis = view.b.v[i].state == VIEW_SELECTED;
		char t0[32], t1[32];

		if (view.b.v[i].state == VIEW_GONE)
			continue;
		tot->blocks++;
		tot->visible += vis;
		tot->bytes += r->size;
		e = reader_footer(s, r, &bi, err, sizeof(err));
		if (e) {
			tot->corrupt++;
			fprintf(stderr, "sonde inspect: %s\n", err);
			if (json) {
				buf_printf(out, "%s{\"key\":", i ? "," : "");
				json_string(out, r->key);
				buf_puts(out, ",\"error\":");
				json_string(out, err);
				buf_puts(out, "}");
			} else {
				buf_printf(out, "  block %s: UNREADABLE: %s\n", r->key, err);
			}
			continue;
		}
		fmt_time(bi.min_time_ns, t0, sizeof(t0));
		fmt_time(bi.max_time_ns, t1, sizeof(t1));
		if (json) {
			buf_printf(out, "%s{\"key\":", i ? "," : "");
			json_string(out, r->key);
			buf_printf(out,
				   ",\"level\":%u,\"visible\":%s,\"state\":\"%s\",\"size\":%llu,"
				   "\"min_time_ns\":%llu,\"max_time_ns\":%llu,\"sources\":%u,"
				   "\"services\":[",
				   bi.level, vis ? "true" : "false", state_name(view.b.v[i].state),
				   (unsigned long long)r->size, (unsigned long long)bi.min_time_ns,
				   (unsigned long long)bi.max_time_ns, bi.nsources);
		} else {
			buf_printf(out,
				   "  block %s\n    level %u, %s .. %s, %llu bytes, %u services, "
				   "replaces %u blocks, %s%s\n",
				   r->key, bi.level, t0, t1, (unsigned long long)r->size,
				   bi.nservices, bi.nsources, state_name(view.b.v[i].state),
				   vis ? "" : " (to be deleted)");
		}
		for (uint32_t k = 0; k < bi.nservices; k++) {
			const struct block_service_info *si = &bi.services[k];

			if (si->total == INT64_MAX || si->total == INT64_MIN)
				contradiction(tot, out, json,
					      "%s: service %s: its total is saturated (samples "
					      "counted over and over)",
					      r->key, si->name);

			if (vis) {
				tot->services++;
				tot->samples += si->rows;
				tot->profiles += si->profiles;
				for (int x = 0; x < SEC_NR; x++)
					tot->section_bytes[x] += si->sections[x].clen;
			}
			if (verify) {
				struct svcdata *sd = reader_service(s, r, &bi, k, SECS_ALL, &e, err,
								    sizeof(err));
				int64_t sum = 0;

				if (!sd) {
					tot->corrupt++;
					fprintf(stderr, "sonde inspect: %s\n", err);
				}
				for (size_t x = 0; sd && x < sd->rows.len; x++)
					sum = value_add(sum, sd->rows.v[x].value);
				if (sd && (sd->rows.len != si->rows || sum != si->total))
					contradiction(
						tot, out, json,
						"%s: service %s: the footer says %llu samples "
						"totalling %lld, the data %zu totalling %lld",
						r->key, si->name, (unsigned long long)si->rows,
						(long long)si->total, sd->rows.len, (long long)sum);
				svcdata__free(sd);
			}
			if (json) {
				buf_printf(out, "%s{\"name\":", k ? "," : "");
				json_string(out, si->name);
				buf_printf(out,
					   ",\"profiles\":%llu,\"samples\":%llu,\"total\":%lld,"
					   "\"series\":%llu,\"stacks\":%llu,\"locations\":%llu,"
					   "\"functions\":%llu,\"mappings\":%llu,\"strings\":%llu,"
					   "\"min_time_ns\":%llu,\"max_time_ns\":%llu,\"bytes\":{",
					   (unsigned long long)si->profiles,
					   (unsigned long long)si->rows, (long long)si->total,
					   (unsigned long long)si->series - 1,
					   (unsigned long long)si->nodes - 1,
					   (unsigned long long)si->locations - 1,
					   (unsigned long long)si->functions - 1,
					   (unsigned long long)si->mappings - 1,
					   (unsigned long long)si->strings - 1,
					   (unsigned long long)si->min_time_ns,
					   (unsigned long long)si->max_time_ns);
				for (int x = 0; x < SEC_NR; x++)
					buf_printf(out, "%s\"%s\":%llu", x ? "," : "",
						   section_names[x],
						   (unsigned long long)si->sections[x].clen);
				buf_puts(out, "}}");
			} else {
				buf_printf(out,
					   "    service %s: %llu profiles, %llu samples (total "
					   "%lld), %llu series, %llu stacks, %llu locations, %llu "
					   "functions, %llu mappings, %llu strings\n      bytes:",
					   si->name, (unsigned long long)si->profiles,
					   (unsigned long long)si->rows, (long long)si->total,
					   (unsigned long long)si->series - 1,
					   (unsigned long long)si->nodes - 1,
					   (unsigned long long)si->locations - 1,
					   (unsigned long long)si->functions - 1,
					   (unsigned long long)si->mappings - 1,
					   (unsigned long long)si->strings - 1);
				for (int x = 0; x < SEC_NR; x++)
					buf_printf(out, " %s %llu", section_names[x],
						   (unsigned long long)si->sections[x].clen);
				buf_putc(out, '\n');
			}
		}
		if (json) {
			buf_puts(out, "],\"replaces\":[");
			for (uint32_t k = 0; k < bi.nsources; k++) {
				buf_puts(out, k ? "," : "");
				json_string(out, bi.sources[k]);
			}
			buf_puts(out, "]}");
		}
		block_info_free(&bi);
	}
	if (json)
		buf_puts(out, "]}");
	store_view_free(&view);
	return 0;
}

int cmd_inspect(int argc, char **argv)
{
	static const struct option opts[] = {
		{"tenant", required_argument, NULL, 't'},
		{"no-verify", no_argument, NULL, 'n'},
		{"json", no_argument, NULL, 'j'},
		{"compaction-levels", required_argument, NULL, 'L'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static const char usage[] =
		"Usage: sonde inspect [OPTIONS] STORAGE_URL\n"
		"\n"
		"Lists the blocks in a collector's storage (file:///PATH, a path, or "
		"s3://BUCKET/PREFIX?...)\n"
		"with their tenant, services, time range and counts, and the bytes of each "
		"section; reads\n"
		"and checks every section of every block, and that the blocks agree with each "
		"other:\n"
		"no sample counted twice or by no block, levels that exist, counts that add up.\n"
		"\n"
		"      --tenant T               only this tenant\n"
		"      --no-verify              read footers only (fast), do not check every "
		"section\n"
		"      --json                   machine-readable output\n"
		"      --compaction-levels L    the collectors' (default " COMPACT_DEFAULT_LEVELS
		")\n"
		"  -h, --help                   show this help\n"
		"\n"
		"Exit codes: 0 all blocks readable and consistent, 2 usage error, 3 a block is "
		"corrupt,\n"
		"the blocks contradict each other, or the storage fails.\n";
	struct compactor_opts co = {0};
	char why[160];
	struct name_list tenants = {0};
	struct totals tot = {0};
	struct buf out = {0};
	const char *tenant = NULL;
	bool verify = true, json = false;
	struct objstore *s;
	int c, e = 0, ret = CLI_OK;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			tenant = optarg;
			break;
		case 'n':
			verify = false;
			break;
		case 'j':
			json = true;
			break;
		case 'L':
			if (compactor_parse_levels(optarg, &co, why, sizeof(why))) {
				fprintf(stderr,
					"sonde inspect: invalid --compaction-levels '%s': %s\n",
					optarg, why);
				return CLI_USAGE;
			}
			break;
		case 'h':
			fputs(usage, stdout);
			return CLI_OK;
		default:
			fprintf(stderr, "sonde inspect: unknown option '%s' (see --help)\n",
				argv[optind - 1]);
			return CLI_USAGE;
		}
	}
	if (optind != argc - 1) {
		fputs(usage, stderr);
		return CLI_USAGE;
	}
	if (tenant && !tenant_valid(tenant)) {
		fprintf(stderr, "sonde inspect: invalid tenant '%s'\n", tenant);
		return CLI_USAGE;
	}
	if (!co.nlevels)
		compactor_parse_levels(COMPACT_DEFAULT_LEVELS, &co, why, sizeof(why));
	s = open_store("inspect", argv[optind], false);

	if (!s)
		return CLI_USAGE;
	if (tenant) {
		e = name_list_add(&tenants, tenant, 0);
	} else {
		e = reader_tenants(s, name_list_add, &tenants);
		if (e)
			fprintf(stderr, "sonde inspect: %s\n", objstore_error());
	}
	if (json)
		buf_puts(&out, "{\"tenants\":[");
	for (size_t i = 0; !e && i < tenants.v.len; i++)
		e = inspect_tenant(s, tenants.v.v[i], verify, json, i == 0, &co, &tot, &out);
	if (json) {
		buf_printf(&out,
			   "],\"blocks\":%llu,\"visible\":%llu,\"bytes\":%llu,\"samples\":%llu,"
			   "\"corrupt\":%llu,\"section_bytes\":{",
			   (unsigned long long)tot.blocks, (unsigned long long)tot.visible,
			   (unsigned long long)tot.bytes, (unsigned long long)tot.samples,
			   (unsigned long long)tot.corrupt);
		for (int x = 0; x < SEC_NR; x++)
			buf_printf(&out, "%s\"%s\":%llu", x ? "," : "", section_names[x],
				   (unsigned long long)tot.section_bytes[x]);
		buf_puts(&out, "}}\n");
	} else if (!e) {
		uint64_t sym = tot.section_bytes[SEC_STRINGS] + tot.section_bytes[SEC_MAPPINGS] +
			       tot.section_bytes[SEC_FUNCTIONS] + tot.section_bytes[SEC_LOCATIONS];
		uint64_t stacks = tot.section_bytes[SEC_STACKS],
			 series = tot.section_bytes[SEC_SERIES];
		uint64_t cols = tot.section_bytes[SEC_COL_SERIES] +
				tot.section_bytes[SEC_COL_TIME] + tot.section_bytes[SEC_COL_STACK] +
				tot.section_bytes[SEC_COL_VALUE];
		double all = (double)MAX(tot.bytes, 1);

		buf_printf(&out,
			   "total: %llu blocks (%llu visible), %llu bytes, %llu samples in visible "
			   "blocks",
			   (unsigned long long)tot.blocks, (unsigned long long)tot.visible,
			   (unsigned long long)tot.bytes, (unsigned long long)tot.samples);
		if (tot.samples && tot.visible == tot.blocks)
			buf_printf(&out, " (%.2f bytes per sample)",
				   (double)tot.bytes / (double)tot.samples);
		buf_printf(
			&out,
			"\n  symbols %.1f%%, stacks %.1f%%, series %.1f%%, samples %.1f%%, headers "
			"and footers %.1f%%\n",
			100.0 * (double)sym / all, 100.0 * (double)stacks / all,
			100.0 * (double)series / all, 100.0 * (double)cols / all,
			100.0 * (double)(tot.bytes - MIN(tot.bytes, sym + stacks + series + cols)) /
				all);
		if (tot.contradictions)
			buf_printf(&out, "%llu CONTRADICTIONS between blocks (see above)\n",
				   (unsigned long long)tot.contradictions);
		if (verify)
			buf_printf(&out, "%s\n",
				   tot.corrupt > tot.contradictions
					   ? "CORRUPT blocks found (see above)"
				   : tot.contradictions
					   ? "every section of every block read and checked; the "
					     "blocks contradict each other"
					   : "every section of every block read and checked, and "
					     "consistent");
	}
	if (out.len)
		fwrite(out.data, 1, out.len, stdout);
	if (e || tot.corrupt)
		ret = CLI_ERROR;
	name_list_free(&tenants);
	buf_free(&out);
	objstore__free(s);
	return ret;
}

/* ---- export ------------------------------------------------------------------------------- */

int cmd_export(int argc, char **argv)
{
	static const struct option opts[] = {
		{"tenant", required_argument, NULL, 't'}, {"service", required_argument, NULL, 's'},
		{"from", required_argument, NULL, 'f'},	  {"to", required_argument, NULL, 'T'},
		{"format", required_argument, NULL, 'F'}, {"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},	  {NULL, 0, NULL, 0},
	};
	static const char usage[] =
		"Usage: sonde export [OPTIONS] STORAGE_URL --service NAME\n"
		"\n"
		"Writes the profile of a service over a time range, read from a collector's "
		"storage.\n"
		"\n"
		"      --service NAME   the service (service.name of the profiles; required)\n"
		"      --tenant T       default: anonymous\n"
		"      --from TIME      default: the beginning; TIME is RFC 3339 "
		"(2026-11-21T10:00:00Z),\n"
		"                       Unix seconds, now, now-1h or -30m\n"
		"      --to TIME        default: now\n"
		"      --format F       folded (default: PROCESS;root;...;leaf COUNT per line) | "
		"pprof\n"
		"                       (gzipped profile.proto)\n"
		"  -o, --output FILE    default: standard output (pprof only when that is not a "
		"terminal)\n"
		"  -h, --help           show this help\n"
		"\n"
		"Exit codes: 0 ok, 1 no samples in the range, 2 usage error, 3 storage or data "
		"error.\n";
	struct engine_query q = {
		.tenant = "anonymous", .from_ns = 0, .collapse_ns = ENGINE_NO_TIME};
	const char *from = NULL, *to = NULL, *format = "folded", *output = NULL, *service = NULL;
	enum export_format fmt;
	struct selector selector = {0};
	uint64_t now = clock_ns(CLOCK_REALTIME);
	size_t rows = 0;
	struct objstore *s;
	struct buf out = {0};
	char err[512];
	int c, e, ret = CLI_OK;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			q.tenant = optarg;
			break;
		case 's':
			service = optarg;
			break;
		case 'f':
			from = optarg;
			break;
		case 'T':
			to = optarg;
			break;
		case 'F':
			format = optarg;
			break;
		case 'o':
			output = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return CLI_OK;
		default:
			fprintf(stderr, "sonde export: unknown option '%s' (see --help)\n",
				argv[optind - 1]);
			return CLI_USAGE;
		}
	}
	if (optind != argc - 1 || !service) {
		fputs(usage, stderr);
		return CLI_USAGE;
	}
	if (!tenant_valid(q.tenant)) {
		fprintf(stderr, "sonde export: invalid tenant '%s'\n", q.tenant);
		return CLI_USAGE;
	}
	q.to_ns = now;
	if ((from && parse_time_ns(from, now, &q.from_ns)) ||
	    (to && parse_time_ns(to, now, &q.to_ns))) {
		fprintf(stderr,
			"sonde export: invalid time '%s': use 2026-11-21T10:00:00Z, Unix seconds, "
			"now, now-1h or -30m\n",
			from && parse_time_ns(from, now, &q.from_ns) ? from : to);
		return CLI_USAGE;
	}
	if (q.from_ns > q.to_ns) {
		fprintf(stderr, "sonde export: --from is after --to\n");
		return CLI_USAGE;
	}
	if (export_format_parse(format, &fmt)) {
		fprintf(stderr, "sonde export: invalid --format '%s': expected folded or pprof\n",
			format);
		return CLI_USAGE;
	}
	if (cli_binary_to_terminal("export", fmt == EXPORT_PPROF, output))
		return CLI_USAGE;
	s = open_store("export", argv[optind], false);
	if (!s)
		return CLI_USAGE;
	if (selector_service(&selector, service)) {
		ret = CLI_ERROR;
		goto out;
	}
	q.sel = &selector;
	e = query_export(s, &q, fmt, UINT64_MAX, &out, &rows, err, sizeof(err));
	if (e) {
		fprintf(stderr, "sonde export: %s\n", err);
		ret = CLI_ERROR;
		goto out;
	}
	ret = cli_write_output("export", output, out.data, out.len);
	if (ret != CLI_OK)
		goto out;
	if (!rows) {
		fprintf(stderr,
			"sonde export: no samples of service '%s' (tenant %s) in that time range\n",
			service, q.tenant);
		ret = CLI_NOT_FOUND;
	}
out:
	selector_free(&selector);
	buf_free(&out);
	objstore__free(s);
	return ret;
}

/* ---- compact ------------------------------------------------------------------------------ */

int cmd_compact(int argc, char **argv)
{
	static const struct option opts[] = {
		{"tenant", required_argument, NULL, 't'},
		{"force", no_argument, NULL, 'f'},
		{"block-duration", required_argument, NULL, 'b'},
		{"compaction-levels", required_argument, NULL, 'L'},
		{"deletion-grace", required_argument, NULL, 'g'},
		{"retention", required_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static const char usage[] =
		"Usage: sonde compact [OPTIONS] STORAGE_URL\n"
		"\n"
		"Runs one compaction pass over a collector's storage, as the collector does every\n"
		"--compact-interval: merges the windows of every level that are due, then deletes\n"
		"what they replaced. It is safe beside collectors compacting the same S3 storage\n"
		"(give it their --deletion-grace); a file storage is locked while a collector uses "
		"it.\n"
		"\n"
		"      --tenant T                only this tenant\n"
		"      --force                   merge every window now, also those not ended yet\n"
		"      --compaction-levels L     as the collector's "
		"(default " COMPACT_DEFAULT_LEVELS ")\n"
		"      --block-duration D        the first level's window (default 10m)\n"
		"      --deletion-grace D        keep replaced blocks this long (default 5m on S3, "
		"0 "
		"on\n"
		"                                a locked file storage)\n"
		"      --retention D             also delete blocks older than this (default: "
		"none)\n"
		"  -h, --help                    show this help\n";
	struct compactor_opts co = {0};
	struct compactor_stats st = {0};
	const char *tenant = NULL;
	uint64_t block = 0, keep = 0;
	bool force = false, grace_set = false;
	struct objstore *s;
	char why[160];
	int c, e;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			tenant = optarg;
			break;
		case 'f':
			force = true;
			break;
		case 'b':
			if (parse_duration_ns(optarg, &block) || block < NSEC_PER_SEC) {
				fprintf(stderr, "sonde compact: invalid --block-duration '%s'\n",
					optarg);
				return CLI_USAGE;
			}
			break;
		case 'L':
			if (compactor_parse_levels(optarg, &co, why, sizeof(why))) {
				fprintf(stderr,
					"sonde compact: invalid --compaction-levels '%s': %s\n",
					optarg, why);
				return CLI_USAGE;
			}
			break;
		case 'g':
			if (parse_duration_ns(optarg, &co.grace_ns)) {
				fprintf(stderr, "sonde compact: invalid --deletion-grace '%s'\n",
					optarg);
				return CLI_USAGE;
			}
			grace_set = true;
			break;
		case 'r':
			if (parse_duration_ns(optarg, &keep)) {
				fprintf(stderr, "sonde compact: invalid --retention '%s'\n",
					optarg);
				return CLI_USAGE;
			}
			break;
		case 'h':
			fputs(usage, stdout);
			return CLI_OK;
		default:
			fprintf(stderr, "sonde compact: unknown option '%s' (see --help)\n",
				argv[optind - 1]);
			return CLI_USAGE;
		}
	}
	if (optind != argc - 1 || (tenant && !tenant_valid(tenant))) {
		fputs(usage, stderr);
		return CLI_USAGE;
	}
	if (!co.nlevels)
		compactor_parse_levels(COMPACT_DEFAULT_LEVELS, &co, why, sizeof(why));
	if (block) {
		if (co.nlevels > 1 && co.levels[1].window_ns % block) {
			fprintf(stderr, "sonde compact: --block-duration must divide the second "
					"level's window\n");
			return CLI_USAGE;
		}
		co.levels[0].window_ns = block;
	}
	retention_configure(keep, NULL, 0, why, sizeof(why));
	co.no_retention = !keep;
	s = open_store("compact", argv[optind], false);
	if (!s)
		return CLI_USAGE;
	e = objstore__claim(s);
	if (e) {
		fprintf(stderr, "sonde compact: %s\n", objstore_error());
		objstore__free(s);
		return CLI_ERROR;
	}
	if (!grace_set && objstore__is_s3(s))
		co.grace_ns = 300 * NSEC_PER_SEC;
	co.store = s;
	e = compactor_pass(&co, tenant, force, &st);
	printf("compaction: %llu blocks merged into %llu, %llu -> %llu bytes, %llu replaced and "
	       "%llu expired blocks deleted, %llu errors\n",
	       (unsigned long long)st.blocks_in, (unsigned long long)st.compactions,
	       (unsigned long long)st.bytes_in, (unsigned long long)st.bytes_out,
	       (unsigned long long)st.deleted, (unsigned long long)st.expired,
	       (unsigned long long)st.errors);
	objstore__free(s);
	return e ? CLI_ERROR : CLI_OK;
}

/* ---- delete ------------------------------------------------------------------------------- */

int cmd_delete(int argc, char **argv)
{
	static const struct option opts[] = {
		{"tenant", required_argument, NULL, 't'},
		{"service", required_argument, NULL, 's'},
		{"before", required_argument, NULL, 'b'},
		{"deletion-grace", required_argument, NULL, 'g'},
		{"no-wait", no_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static const char usage[] =
		"Usage: sonde delete STORAGE_URL --tenant T --before TIME [--service S]\n"
		"\n"
		"Deletes a tenant's samples (or one service's) from before TIME: blocks holding\n"
		"nothing else are deleted at once; a block holding some is replaced by one "
		"without\n"
		"them, which readers count from then on (the block it replaces is deleted by the\n"
		"collectors' next compaction passes, after --deletion-grace). Safe while "
		"collectors\n"
		"run: a merge in progress may store what it read before the delete, so the delete\n"
		"is made again once every merge that could has stored or given up (half the\n"
		"deletion grace later), until a pass finds nothing.\n"
		"\n"
		"      --tenant T       the tenant (required)\n"
		"      --before TIME    RFC 3339 (2026-11-21T10:00:00Z), Unix seconds, now, now-7d "
		"(required)\n"
		"      --service S      only this service (service.name)\n"
		"      --deletion-grace D  the collectors' (default 5m on S3, 0 on a directory)\n"
		"      --no-wait        one pass, without waiting for merges in progress\n"
		"  -h, --help           show this help\n";
	struct compactor_opts co = {0};
	struct compactor_stats st = {0};
	const char *tenant = NULL, *service = NULL, *before = NULL;
	uint64_t before_ns = 0, rewritten = 0, deleted = 0;
	bool grace_set = false, wait = true;
	struct objstore *s;
	int c, e;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			tenant = optarg;
			break;
		case 's':
			service = optarg;
			break;
		case 'b':
			before = optarg;
			break;
		case 'g':
			if (parse_duration_ns(optarg, &co.grace_ns)) {
				fprintf(stderr, "sonde delete: invalid --deletion-grace '%s'\n",
					optarg);
				return CLI_USAGE;
			}
			grace_set = true;
			break;
		case 'n':
			wait = false;
			break;
		case 'h':
			fputs(usage, stdout);
			return CLI_OK;
		default:
			fprintf(stderr, "sonde delete: unknown option '%s' (see --help)\n",
				argv[optind - 1]);
			return CLI_USAGE;
		}
	}
	if (optind != argc - 1 || !tenant || !before) {
		fputs(usage, stderr);
		return CLI_USAGE;
	}
	if (!tenant_valid(tenant)) {
		fprintf(stderr, "sonde delete: invalid tenant '%s'\n", tenant);
		return CLI_USAGE;
	}
	if (parse_time_ns(before, clock_ns(CLOCK_REALTIME), &before_ns)) {
		fprintf(stderr, "sonde delete: invalid --before '%s'\n", before);
		return CLI_USAGE;
	}
	s = open_store("delete", argv[optind], false);
	if (!s)
		return CLI_USAGE;
	co.store = s;
	if (!grace_set && objstore__is_s3(s))
		co.grace_ns = 300 * NSEC_PER_SEC;
	/*
	 * A merge gives up past half the grace after its listing: once that long has passed
	 * since a pass, every merge that read the deleted blocks has stored or given up, and a
	 * pass that then finds nothing leaves nothing (docs/storage.md).
	 */
	for (int pass = 0;; pass++) {
		uint64_t r = 0, d = st.deleted;

		e = compactor_delete(&co, tenant, service, before_ns, &st, &r);
		rewritten += r;
		if (e || !wait || (pass > 0 && st.deleted == d && r == 0))
			break;
		if (pass == 9) {
			fprintf(stderr,
				"sonde delete: merges keep storing the deleted data back after "
				"10 passes: run it again\n");
			e = -EAGAIN;
			break;
		}
		if (co.grace_ns / 2 >= NSEC_PER_SEC)
			fprintf(stderr,
				"sonde delete: waiting %.1f s for merges in progress (half "
				"the deletion grace), then looking again\n",
				(double)co.grace_ns / 2e9);
		{
			struct timespec ts = {(time_t)(co.grace_ns / 2 / NSEC_PER_SEC),
					      (long)(co.grace_ns / 2 % NSEC_PER_SEC)};

			while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
				;
		}
	}
	deleted = st.deleted;
	printf("delete: %llu blocks deleted, %llu replaced by what they hold from then on%s\n",
	       (unsigned long long)deleted, (unsigned long long)rewritten,
	       e ? " (stopped by an error: see above; run it again)" : "");
	objstore__free(s);
	return e ? CLI_ERROR : CLI_OK;
}

/* ---- import ------------------------------------------------------------------------------- */

int cmd_import(int argc, char **argv)
{
	static const struct option opts[] = {
		{"tenant", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static const char usage[] =
		"Usage: sonde import [OPTIONS] STORAGE_URL FILE...\n"
		"\n"
		"Stores OTLP profiles requests (ExportProfilesServiceRequest, protobuf, gzipped or "
		"not),\n"
		"as an agent would send them, into a collector's storage: one block per file.\n"
		"\n"
		"      --tenant T   default: anonymous\n"
		"  -h, --help       show this help\n"
		"\n"
		"Exit codes: 0 all stored, 2 usage error, 3 a file is unreadable or invalid, or "
		"the storage fails.\n";
	const char *tenant = "anonymous";
	struct objstore *s;
	int c, ret = CLI_OK;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			tenant = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return CLI_OK;
		default:
			fprintf(stderr, "sonde import: unknown option '%s' (see --help)\n",
				argv[optind - 1]);
			return CLI_USAGE;
		}
	}
	if (optind > argc - 2 || !tenant_valid(tenant)) {
		fputs(usage, stderr);
		return CLI_USAGE;
	}
	s = open_store("import", argv[optind], true);
	if (!s)
		return CLI_USAGE;
	for (int i = optind + 1; i < argc; i++) {
		struct ingest_limits lim = {0};
		struct ingest_request *r = NULL;
		struct block_write_opts bo = {.tenant = tenant};
		struct buf raw = {0}, body = {0}, blk = {0};
		struct svcdata **svcs = NULL;
		const char *const *names;
		char *data = NULL, msg[INGEST_MSG_SIZE], key[OBJSTORE_MAX_KEY];
		uint64_t lo = UINT64_MAX, hi = 0;
		size_t len, n = 0;
		int e;

		e = read_file(-1, argv[i], 1u << 30, &data, &len);
		if (e) {
			fprintf(stderr, "sonde import: %s: %s\n", argv[i], strerror(-e));
			ret = CLI_ERROR;
			continue;
		}
		buf_append(&raw, data, len);
		free(data);
		if (len >= 2 && raw.data[0] == 0x1f && raw.data[1] == 0x8b) {
			e = gunzip_bounded(raw.data, raw.len, 1u << 30, &body);
			if (e) {
				fprintf(stderr, "sonde import: %s: not valid gzip\n", argv[i]);
				ret = CLI_ERROR;
				goto next;
			}
		} else {
			body = raw;
			raw = (struct buf){0};
		}
		e = ingest_decode(body.data, body.len, &lim, &r, msg, sizeof(msg));
		if (e) {
			fprintf(stderr, "sonde import: %s: %s\n", argv[i], msg);
			ret = CLI_ERROR;
			goto next;
		}
		n = ingest_request_services(r, &names);
		svcs = calloc(n ? n : 1, sizeof(*svcs));
		for (size_t k = 0; svcs && k < n; k++)
			svcs[k] = svcdata__new(names[k]);
		e = svcs ? ingest_apply(r, svcs, clock_ns(CLOCK_REALTIME)) : -ENOMEM;
		if (!e)
			e = block_encode(svcs, n, &bo, &blk);
		for (size_t k = 0; !e && k < n; k++) {
			if (svcs[k]->rows.len) {
				lo = MIN(lo, svcs[k]->min_time_ns);
				hi = MAX(hi, svcs[k]->max_time_ns);
			}
		}
		if (!e && lo == UINT64_MAX) {
			printf("%s: no samples, nothing stored\n", argv[i]);
			goto next;
		}
		if (!e)
			e = block_key(tenant, lo, hi, 0, key, sizeof(key));
		if (!e && objstore__put(s, key, blk.data, blk.len)) {
			fprintf(stderr, "sonde import: %s: %s\n", argv[i], objstore_error());
			ret = CLI_ERROR;
			goto next;
		}
		if (e) {
			fprintf(stderr, "sonde import: %s: %s\n", argv[i], strerror(-e));
			ret = CLI_ERROR;
			goto next;
		}
		printf("%s: stored as %s (%zu bytes)\n", argv[i], key, blk.len);
	next:
		for (size_t k = 0; svcs && k < n; k++)
			svcdata__free(svcs[k]);
		free(svcs);
		ingest_request_free(r);
		buf_free(&raw);
		buf_free(&body);
		buf_free(&blk);
	}
	objstore__free(s);
	return ret;
}
