// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <zlib.h>
#include <zstd.h>

#include "block.h"
#include "../common/util.h"

#define MAGIC "SONDEBLK"
#define END_MAGIC "SONDEEND"
#define MAX_STRING (1u << 20) /* bytes of one string in a block */
/* the least a service takes in the footer: 13 varints, and 3 varints and a u32 per section */
#define MIN_SERVICE_BYTES (13 + SEC_NR * 7)

static const char *const section_names[SEC_NR] = {
	"strings", "mappings",	 "functions", "locations", "stacks",
	"series",  "col_series", "col_time",  "col_stack", "col_value",
};

int block_key(const char *tenant, uint64_t min_ns, uint64_t max_ns, uint32_t level, char *key,
	      size_t key_size)
{
	uint8_t rnd[8];
	char hex[17];

	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		return -EIO;
	hex_encode(rnd, sizeof(rnd), hex);
	if ((size_t)snprintf(key, key_size, "%s/blocks/%013llu-%013llu-L%u-%s.block", tenant,
			     (unsigned long long)(min_ns / 1000000),
			     (unsigned long long)((max_ns + 999999) / 1000000), level,
			     hex) >= key_size)
		return -ENAMETOOLONG;
	return 0;
}

bool block_key_parse(const char *key, char *ret_tenant, size_t tenant_size, uint64_t *ret_min_ms,
		     uint64_t *ret_max_ms, uint32_t *ret_level, char *ret_id)
{
	const char *slash = strchr(key, '/'), *name;
	unsigned long long lo, hi;
	unsigned int level;
	char hex[17];
	int end = 0;

	if (!slash || (size_t)(slash - key) >= tenant_size || strncmp(slash, "/blocks/", 8) != 0)
		return false;
	name = slash + 8;
	if (strchr(name, '/') || strlen(name) >= BLOCK_ID_MAX + 6)
		return false;
	if (sscanf(name, "%13llu-%13llu-L%u-%16[0-9a-f].block%n", &lo, &hi, &level, hex, &end) !=
		    4 ||
	    name[end] || strlen(hex) != 16 || lo > hi)
		return false;
	memcpy(ret_tenant, key, (size_t)(slash - key));
	ret_tenant[slash - key] = 0;
	if (!tenant_valid(ret_tenant))
		return false;
	*ret_min_ms = lo;
	*ret_max_ms = hi;
	*ret_level = level;
	snprintf(ret_id, BLOCK_ID_MAX, "%.*s", (int)(strlen(name) - 6), name);
	return true;
}

/* ---- encoding ------------------------------------------------------------------------------- */

static void put_str(struct buf *b, const char *s)
{
	size_t n = strlen(s);

	buf_put_uvarint(b, n);
	buf_append(b, s, n);
}

static void enc_strings(const struct svcdata *sd, struct buf *b)
{
	size_t n = strtab_count(&sd->strings);

	buf_put_uvarint(b, n - 1);
	for (size_t i = 1; i < n; i++)
		put_str(b, strtab_get(&sd->strings, (uint32_t)i));
}

static void enc_mappings(const struct svcdata *sd, struct buf *b)
{
	buf_put_uvarint(b, sd->mappings.len - 1);
	for (size_t i = 1; i < sd->mappings.len; i++) {
		const struct sd_mapping *m = &sd->mappings.v[i];

		buf_put_uvarint(b, m->start);
		buf_put_uvarint(b, m->limit - m->start);
		buf_put_uvarint(b, m->offset);
		buf_put_uvarint(b, m->filename);
		buf_put_uvarint(b, m->build_id);
	}
}

static void enc_functions(const struct svcdata *sd, struct buf *b)
{
	buf_put_uvarint(b, sd->functions.len - 1);
	for (size_t i = 1; i < sd->functions.len; i++) {
		const struct sd_function *f = &sd->functions.v[i];

		buf_put_uvarint(b, f->name);
		buf_put_uvarint(b, f->system_name);
		buf_put_uvarint(b, f->filename);
		buf_put_svarint(b, f->start_line);
	}
}

static void enc_locations(const struct svcdata *sd, struct buf *b)
{
	uint64_t prev = 0;

	buf_put_uvarint(b, sd->locations.len - 1);
	for (size_t i = 1; i < sd->locations.len; i++) {
		const struct sd_location *l = &sd->locations.v[i];

		buf_put_uvarint(b, l->mapping);
		buf_put_uvarint(b, l->frame_type);
		/* addresses of one binary are near each other: a delta is short */
		buf_put_svarint(b, (int64_t)(l->address - prev));
		prev = l->address;
		buf_put_uvarint(b, l->nlines);
		for (uint32_t k = 0; k < l->nlines; k++) {
			const struct sd_line *ln = &sd->lines.v[l->first_line + k];

			buf_put_uvarint(b, ln->function);
			buf_put_svarint(b, ln->line);
			buf_put_svarint(b, ln->column);
		}
	}
}

static void enc_stacks(const struct svcdata *sd, struct buf *b)
{
	buf_put_uvarint(b, sd->nodes.len - 1);
	for (size_t i = 1; i < sd->nodes.len; i++) {
		/* parents come first: the distance back is positive and mostly small */
		buf_put_uvarint(b, i - sd->nodes.v[i].parent);
		buf_put_uvarint(b, sd->nodes.v[i].location);
	}
}

static void enc_series(const struct svcdata *sd, struct buf *b)
{
	buf_put_uvarint(b, sd->types.len - 1);
	for (size_t i = 1; i < sd->types.len; i++) {
		const struct sd_type *t = &sd->types.v[i];

		buf_put_uvarint(b, t->sample_type);
		buf_put_uvarint(b, t->sample_unit);
		buf_put_uvarint(b, t->period_type);
		buf_put_uvarint(b, t->period_unit);
		buf_put_svarint(b, t->period);
	}
	buf_put_uvarint(b, sd->series.len - 1);
	for (size_t i = 1; i < sd->series.len; i++) {
		const struct sd_series *s = &sd->series.v[i];

		buf_put_uvarint(b, s->type);
		buf_put_uvarint(b, s->nlabels);
		for (uint32_t k = 0; k < s->nlabels; k++) {
			buf_put_uvarint(b, sd->labels.v[s->first_label + k].key);
			buf_put_uvarint(b, sd->labels.v[s->first_label + k].value);
		}
	}
}

/* The sample columns; rows are sorted by (series, time, stack). */
static void enc_columns(const struct svcdata *sd, uint64_t unit, uint64_t base, struct buf *cols[4])
{
	size_t i = 0;
	uint32_t prev_series = 0;

	/* series: runs of (series delta, length) */
	while (i < sd->rows.len) {
		size_t j = i;

		while (j < sd->rows.len && sd->rows.v[j].series == sd->rows.v[i].series)
			j++;
		buf_put_uvarint(cols[0], sd->rows.v[i].series - prev_series);
		buf_put_uvarint(cols[0], j - i);
		prev_series = sd->rows.v[i].series;
		i = j;
	}
	/* time: in units, from the block's start for a series' first row, else from the row before
	 */
	for (i = 0; i < sd->rows.len; i++) {
		const struct sd_row *r = &sd->rows.v[i];
		uint64_t prev = i && sd->rows.v[i - 1].series == r->series
					? sd->rows.v[i - 1].time_ns
					: base;

		buf_put_uvarint(cols[1], (r->time_ns - prev) / unit);
		buf_put_uvarint(cols[2], r->stack);
		buf_put_svarint(cols[3], r->value);
	}
}

static int compress_section(const struct buf *in, int level, struct buf *out,
			    struct block_section_info *si)
{
	size_t bound = ZSTD_compressBound(in->len), n;

	if (buf_reserve(out, bound))
		return -ENOMEM;
	n = ZSTD_compress(out->data + out->len, bound, in->data ? in->data : (const uint8_t *)"",
			  in->len, level);
	if (ZSTD_isError(n))
		return -EIO;
	si->offset = out->len;
	si->clen = n;
	si->ulen = in->len;
	si->crc = (uint32_t)crc32(0, out->data + out->len, (uInt)n);
	out->len += n;
	return 0;
}

static int svc_cmp(const void *a, const void *b)
{
	return strcmp((*(struct svcdata *const *)a)->name, (*(struct svcdata *const *)b)->name);
}

static void enc_footer(const struct block_info *bi, struct buf *f)
{
	/* the version again: readers start from the end, and must know it before anything else */
	buf_put_uvarint(f, BLOCK_VERSION);
	put_str(f, bi->tenant);
	buf_put_uvarint(f, bi->created_ns);
	buf_put_uvarint(f, bi->level);
	buf_put_uvarint(f, bi->time_unit_ns);
	buf_put_uvarint(f, bi->min_time_ns);
	buf_put_uvarint(f, bi->max_time_ns);
	buf_put_uvarint(f, bi->nsources);
	for (uint32_t i = 0; i < bi->nsources; i++)
		put_str(f, bi->sources[i]);
	buf_put_uvarint(f, bi->nservices);
	for (uint32_t i = 0; i < bi->nservices; i++) {
		const struct block_service_info *s = &bi->services[i];

		put_str(f, s->name);
		buf_put_uvarint(f, s->min_time_ns);
		buf_put_uvarint(f, s->max_time_ns);
		buf_put_uvarint(f, s->profiles);
		buf_put_uvarint(f, s->rows);
		buf_put_svarint(f, s->total);
		buf_put_uvarint(f, s->strings);
		buf_put_uvarint(f, s->mappings);
		buf_put_uvarint(f, s->functions);
		buf_put_uvarint(f, s->locations);
		buf_put_uvarint(f, s->nodes);
		buf_put_uvarint(f, s->series);
		for (int k = 0; k < SEC_NR; k++) {
			buf_put_uvarint(f, s->sections[k].offset);
			buf_put_uvarint(f, s->sections[k].clen);
			buf_put_uvarint(f, s->sections[k].ulen);
			buf_put_u32le(f, s->sections[k].crc);
		}
	}
}

int block_encode(struct svcdata **services, size_t n, const struct block_write_opts *opts,
		 struct buf *out)
{
	uint64_t unit = opts->time_unit_ns ? opts->time_unit_ns : 1000000;
	int level = opts->zstd_level ? opts->zstd_level : 3;
	struct block_info bi = {0};
	struct svcdata **sorted = NULL;
	struct buf sec = {0}, footer = {0};
	struct buf cols[4] = {0};
	size_t start = out->len;
	int err = 0;

	if (opts->nsources > BLOCK_MAX_SOURCES || !tenant_valid(opts->tenant))
		return -EINVAL;
	sorted = calloc(n ? n : 1, sizeof(*sorted));
	bi.services = calloc(n ? n : 1, sizeof(*bi.services));
	bi.sources = calloc(opts->nsources ? opts->nsources : 1, sizeof(*bi.sources));
	if (!sorted || !bi.services || !bi.sources) {
		err = -ENOMEM;
		goto out;
	}
	bi.tenant = (char *)opts->tenant;
	bi.created_ns = clock_ns(CLOCK_REALTIME);
	bi.level = opts->level;
	bi.time_unit_ns = unit;
	bi.min_time_ns = UINT64_MAX;
	for (size_t i = 0; i < opts->nsources; i++)
		str_copy(bi.sources[i], opts->sources[i], BLOCK_ID_MAX);
	bi.nsources = (uint32_t)opts->nsources;
	for (size_t i = 0; i < n; i++) {
		svcdata__sort_rows(services[i], unit);
		if (services[i]->rows.len)
			sorted[bi.nservices++] = services[i];
	}
	if (bi.nservices)
		qsort(sorted, bi.nservices, sizeof(*sorted), svc_cmp);

	buf_append(out, MAGIC, 8);
	buf_put_u32le(out, BLOCK_VERSION);
	buf_put_u32le(out, 0);
	for (uint32_t i = 0; i < bi.nservices && !err; i++) {
		struct svcdata *sd = sorted[i];
		struct block_service_info *si = &bi.services[i];
		uint64_t base = sd->min_time_ns;

		si->name = sd->name;
		si->min_time_ns = sd->min_time_ns;
		si->max_time_ns = sd->max_time_ns;
		si->profiles = sd->profiles;
		si->rows = sd->rows.len;
		si->strings = strtab_count(&sd->strings);
		si->mappings = sd->mappings.len;
		si->functions = sd->functions.len;
		si->locations = sd->locations.len;
		si->nodes = sd->nodes.len;
		si->series = sd->series.len;
		for (size_t r = 0; r < sd->rows.len; r++)
			si->total = value_add(si->total, sd->rows.v[r].value);
		bi.min_time_ns = MIN(bi.min_time_ns, sd->min_time_ns);
		bi.max_time_ns = MAX(bi.max_time_ns, sd->max_time_ns);
		for (int k = 0; k < 4; k++)
			buf_reset(&cols[k]);
		struct buf *cp[4] = {&cols[0], &cols[1], &cols[2], &cols[3]};
		enc_columns(sd, unit, base, cp);
		for (int k = 0; k < SEC_NR && !err; k++) {
			struct buf *in = &sec;

			buf_reset(&sec);
			switch (k) {
			case SEC_STRINGS:
				enc_strings(sd, &sec);
				break;
			case SEC_MAPPINGS:
				enc_mappings(sd, &sec);
				break;
			case SEC_FUNCTIONS:
				enc_functions(sd, &sec);
				break;
			case SEC_LOCATIONS:
				enc_locations(sd, &sec);
				break;
			case SEC_STACKS:
				enc_stacks(sd, &sec);
				break;
			case SEC_SERIES:
				enc_series(sd, &sec);
				break;
			default:
				in = &cols[k - SEC_COL_SERIES];
				break;
			}
			if (in->oom || sec.oom)
				err = -ENOMEM;
			else
				err = compress_section(in, level, out, &si->sections[k]);
			si->sections[k].offset -= start;
		}
	}
	if (err)
		goto out;
	if (!bi.nservices)
		bi.min_time_ns = 0;
	enc_footer(&bi, &footer);
	if (footer.len > BLOCK_MAX_FOOTER) {
		err = -E2BIG;
		goto out;
	}
	buf_append(out, footer.data, footer.len);
	buf_put_u32le(out, (uint32_t)footer.len);
	buf_put_u32le(out, (uint32_t)crc32(0, footer.data, (uInt)footer.len));
	buf_append(out, END_MAGIC, 8);
	if (out->oom || footer.oom)
		err = -ENOMEM;
out:
	if (err)
		out->len = start;
	free(sorted);
	free(bi.services);
	free(bi.sources);
	buf_free(&sec);
	buf_free(&footer);
	for (int k = 0; k < 4; k++)
		buf_free(&cols[k]);
	return err;
}

/* ---- decoding ------------------------------------------------------------------------------- */

static int bad(char *err, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(char *err, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, size, fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

/* A length-prefixed string from c, or NULL (c->err set) when malformed. */
static char *get_str(struct cursor *c)
{
	uint64_t n = cursor_uvarint(c);
	const uint8_t *p;
	char *s;

	if (c->err || n > MAX_STRING || n > (uint64_t)(c->end - c->p)) {
		c->err = true;
		return NULL;
	}
	p = cursor_bytes(c, n);
	if (!p || memchr(p, 0, n)) {
		c->err = true;
		return NULL;
	}
	s = strndup((const char *)p, n);
	if (!s)
		c->err = true;
	return s;
}

void block_info_free(struct block_info *bi)
{
	if (!bi)
		return;
	free(bi->tenant);
	for (uint32_t i = 0; bi->services && i < bi->nservices; i++)
		free(bi->services[i].name);
	free(bi->services);
	free(bi->sources);
	memset(bi, 0, sizeof(*bi));
}

int block_parse_footer(const uint8_t *tail, size_t tail_len, uint64_t object_size,
		       struct block_info *ret, size_t *ret_need, char *err, size_t err_size)
{
	struct block_info bi = {0};
	const uint8_t *t;
	struct cursor c;
	uint32_t flen, fcrc;
	uint64_t n, data_end;

	if (object_size < BLOCK_HEADER_SIZE + BLOCK_TRAILER_SIZE || tail_len < BLOCK_TRAILER_SIZE ||
	    tail_len > object_size)
		return bad(err, err_size, "too short for a block (%llu bytes)",
			   (unsigned long long)object_size);
	t = tail + tail_len - BLOCK_TRAILER_SIZE;
	if (memcmp(t + 8, END_MAGIC, 8) != 0)
		return bad(err, err_size, "no block trailer (truncated, or not a block)");
	flen = (uint32_t)t[0] | (uint32_t)t[1] << 8 | (uint32_t)t[2] << 16 | (uint32_t)t[3] << 24;
	fcrc = (uint32_t)t[4] | (uint32_t)t[5] << 8 | (uint32_t)t[6] << 16 | (uint32_t)t[7] << 24;
	if (flen > BLOCK_MAX_FOOTER ||
	    (uint64_t)flen + BLOCK_HEADER_SIZE + BLOCK_TRAILER_SIZE > object_size)
		return bad(err, err_size, "footer length %u out of range", flen);
	if ((size_t)flen + BLOCK_TRAILER_SIZE > tail_len) {
		*ret_need = (size_t)flen + BLOCK_TRAILER_SIZE;
		return -EAGAIN;
	}
	t -= flen;
	if ((uint32_t)crc32(0, t, flen) != fcrc)
		return bad(err, err_size, "footer checksum mismatch");
	data_end = object_size - BLOCK_TRAILER_SIZE - flen;
	c = (struct cursor){t, t + flen, false};
	n = cursor_uvarint(&c);
	if (c.err || n != BLOCK_VERSION)
		return bad(err, err_size,
			   "block format version %llu is not one this build reads (%d)",
			   (unsigned long long)n, BLOCK_VERSION);
	bi.version = BLOCK_VERSION;
	bi.size = object_size;
	bi.tenant = get_str(&c);
	bi.created_ns = cursor_uvarint(&c);
	n = cursor_uvarint(&c);
	bi.level = n > 1000 ? (c.err = true, 0) : (uint32_t)n;
	bi.time_unit_ns = cursor_uvarint(&c);
	bi.min_time_ns = cursor_uvarint(&c);
	bi.max_time_ns = cursor_uvarint(&c);
	n = cursor_uvarint(&c);
	if (c.err || !bi.tenant || n > BLOCK_MAX_SOURCES || bi.time_unit_ns == 0 ||
	    bi.time_unit_ns > 60 * NSEC_PER_SEC) {
		block_info_free(&bi);
		return bad(err, err_size, "malformed footer header");
	}
	if (n > (uint64_t)(c.end - c.p)) { /* a source id takes a byte at least */
		block_info_free(&bi);
		return bad(err, err_size, "malformed source list");
	}
	bi.sources = calloc(n ? n : 1, sizeof(*bi.sources));
	if (!bi.sources) {
		block_info_free(&bi);
		return -ENOMEM;
	}
	for (uint64_t i = 0; i < n && !c.err; i++) {
		char *s = get_str(&c);

		if (s && strlen(s) < BLOCK_ID_MAX)
			strcpy(bi.sources[bi.nsources++], s);
		else
			c.err = true;
		free(s);
	}
	n = cursor_uvarint(&c);
	if (c.err || n > (uint64_t)(c.end - c.p) / MIN_SERVICE_BYTES) {
		block_info_free(&bi);
		return bad(err, err_size, "malformed source list or service count");
	}
	bi.services = calloc(n ? n : 1, sizeof(*bi.services));
	if (!bi.services) {
		block_info_free(&bi);
		return -ENOMEM;
	}
	for (uint64_t i = 0; i < n && !c.err; i++) {
		struct block_service_info *s = &bi.services[bi.nservices++];

		s->name = get_str(&c);
		s->min_time_ns = cursor_uvarint(&c);
		s->max_time_ns = cursor_uvarint(&c);
		s->profiles = cursor_uvarint(&c);
		s->rows = cursor_uvarint(&c);
		s->total = cursor_svarint(&c);
		s->strings = cursor_uvarint(&c);
		s->mappings = cursor_uvarint(&c);
		s->functions = cursor_uvarint(&c);
		s->locations = cursor_uvarint(&c);
		s->nodes = cursor_uvarint(&c);
		s->series = cursor_uvarint(&c);
		for (int k = 0; k < SEC_NR; k++) {
			struct block_section_info *si = &s->sections[k];

			si->offset = cursor_uvarint(&c);
			si->clen = cursor_uvarint(&c);
			si->ulen = cursor_uvarint(&c);
			si->crc = cursor_u32le(&c);
			if (si->offset < BLOCK_HEADER_SIZE || si->clen > data_end ||
			    si->offset > data_end - si->clen || si->ulen > BLOCK_MAX_SECTION)
				c.err = true;
		}
		if (!s->name || s->min_time_ns > s->max_time_ns || s->strings == 0 ||
		    s->mappings == 0 || s->functions == 0 || s->locations == 0 || s->nodes == 0 ||
		    s->series == 0 || s->strings > UINT32_MAX || s->mappings > UINT32_MAX ||
		    s->functions > UINT32_MAX || s->locations > UINT32_MAX ||
		    s->nodes > UINT32_MAX || s->series > UINT32_MAX || s->rows > BLOCK_MAX_SECTION)
			c.err = true;
		if (i && s->name && bi.services[i - 1].name &&
		    strcmp(bi.services[i - 1].name, s->name) >= 0)
			c.err = true; /* names sorted and distinct: a reader bisects */
	}
	if (c.err || c.p != c.end) {
		block_info_free(&bi);
		return bad(err, err_size, "malformed service index in the footer");
	}
	*ret = bi;
	return 0;
}

int block_find_service(const struct block_info *bi, const char *name)
{
	size_t lo = 0, hi = bi->nservices;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(bi->services[mid].name, name);

		if (c == 0)
			return (int)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

void block_service_range(const struct block_info *bi, size_t svc, uint32_t mask, uint64_t *ret_off,
			 uint64_t *ret_len)
{
	const struct block_service_info *s = &bi->services[svc];
	uint64_t lo = UINT64_MAX, hi = 0;

	for (int k = 0; k < SEC_NR; k++) {
		if (!(mask & (1u << k)))
			continue;
		lo = MIN(lo, s->sections[k].offset);
		hi = MAX(hi, s->sections[k].offset + s->sections[k].clen);
	}
	*ret_off = lo == UINT64_MAX ? 0 : lo;
	*ret_len = hi > lo ? hi - lo : 0;
}

struct dec {
	struct svcdata *sd;
	const struct block_service_info *si;
	char *err;
	size_t err_size;
};

/* An id read from c, which must be below limit (else c->err). */
static inline uint32_t check_id(struct cursor *c, uint64_t id, uint64_t limit)
{
	if (id < limit)
		return (uint32_t)id;
	c->err = true;
	return 0;
}
#define CHECK_ID(c, id, limit) check_id((c), (id), (limit))

static int dec_strings(struct dec *d, struct cursor *c)
{
	uint64_t n = cursor_uvarint(c);

	if (c->err || n + 1 != d->si->strings)
		return -EBADMSG;
	for (uint64_t i = 0; i < n && !c->err; i++) {
		uint64_t len = cursor_uvarint(c);
		const uint8_t *p;

		if (c->err || len > MAX_STRING || len > (uint64_t)(c->end - c->p))
			return -EBADMSG;
		p = cursor_bytes(c, len);
		/* distinct strings, no NUL: a second copy would break interning on merge */
		if (!p || memchr(p, 0, len) ||
		    strtab_find(&d->sd->strings, (const char *)p, len) != STRTAB_NONE)
			return -EBADMSG;
		if (strtab_intern(&d->sd->strings, (const char *)p, len) == STRTAB_NONE)
			return -ENOMEM;
	}
	return c->err ? -EBADMSG : 0;
}

static int dec_mappings(struct dec *d, struct cursor *c)
{
	uint64_t n = cursor_uvarint(c), ns = strtab_count(&d->sd->strings);

	if (c->err || n + 1 != d->si->mappings || n > (uint64_t)(c->end - c->p))
		return -EBADMSG;
	if (VEC_RESERVE(&d->sd->mappings, n))
		return -ENOMEM;
	for (uint64_t i = 0; i < n && !c->err; i++) {
		struct sd_mapping m;

		m.start = cursor_uvarint(c);
		m.limit = m.start + cursor_uvarint(c);
		m.offset = cursor_uvarint(c);
		m.filename = CHECK_ID(c, cursor_uvarint(c), ns);
		m.build_id = CHECK_ID(c, cursor_uvarint(c), ns);
		d->sd->mappings.v[d->sd->mappings.len++] = m;
	}
	return c->err ? -EBADMSG : 0;
}

static int dec_functions(struct dec *d, struct cursor *c)
{
	uint64_t n = cursor_uvarint(c), ns = strtab_count(&d->sd->strings);

	if (c->err || n + 1 != d->si->functions || n > (uint64_t)(c->end - c->p))
		return -EBADMSG;
	if (VEC_RESERVE(&d->sd->functions, n))
		return -ENOMEM;
	for (uint64_t i = 0; i < n && !c->err; i++) {
		struct sd_function f;

		f.name = CHECK_ID(c, cursor_uvarint(c), ns);
		f.system_name = CHECK_ID(c, cursor_uvarint(c), ns);
		f.filename = CHECK_ID(c, cursor_uvarint(c), ns);
		f.start_line = cursor_svarint(c);
		d->sd->functions.v[d->sd->functions.len++] = f;
	}
	return c->err ? -EBADMSG : 0;
}

static int dec_locations(struct dec *d, struct cursor *c)
{
	uint64_t n = cursor_uvarint(c), ns = strtab_count(&d->sd->strings), prev = 0;

	if (c->err || n + 1 != d->si->locations || n > (uint64_t)(c->end - c->p))
		return -EBADMSG;
	if (VEC_RESERVE(&d->sd->locations, n))
		return -ENOMEM;
	for (uint64_t i = 0; i < n && !c->err; i++) {
		struct sd_location l;
		uint64_t nl;

		l.mapping = CHECK_ID(c, cursor_uvarint(c), d->sd->mappings.len);
		l.frame_type = CHECK_ID(c, cursor_uvarint(c), ns);
		l.address = prev + (uint64_t)cursor_svarint(c);
		prev = l.address;
		nl = cursor_uvarint(c);
		if (c->err || nl > SVC_MAX_LINES)
			return -EBADMSG;
		l.first_line = (uint32_t)d->sd->lines.len;
		l.nlines = (uint32_t)nl;
		if (d->sd->lines.len + nl > UINT32_MAX || VEC_RESERVE(&d->sd->lines, nl))
			return -ENOMEM;
		for (uint64_t k = 0; k < nl; k++) {
			struct sd_line ln;

			ln.function = CHECK_ID(c, cursor_uvarint(c), d->sd->functions.len);
			ln.line = cursor_svarint(c);
			ln.column = cursor_svarint(c);
			d->sd->lines.v[d->sd->lines.len++] = ln;
		}
		d->sd->locations.v[d->sd->locations.len++] = l;
	}
	return c->err ? -EBADMSG : 0;
}

static int dec_stacks(struct dec *d, struct cursor *c)
{
	uint64_t n = cursor_uvarint(c);

	if (c->err || n + 1 != d->si->nodes || n > (uint64_t)(c->end - c->p))
		return -EBADMSG;
	if (VEC_RESERVE(&d->sd->nodes, n))
		return -ENOMEM;
	for (uint64_t i = 1; i <= n && !c->err; i++) {
		uint64_t back = cursor_uvarint(c);
		struct sd_node nd;

		if (back == 0 || back > i)
			return -EBADMSG; /* a parent comes before its children */
		nd.parent = (uint32_t)(i - back);
		nd.location = CHECK_ID(c, cursor_uvarint(c), d->si->locations);
		d->sd->nodes.v[d->sd->nodes.len++] = nd;
	}
	return c->err ? -EBADMSG : 0;
}

static int dec_series(struct dec *d, struct cursor *c)
{
	uint64_t nt = cursor_uvarint(c), ns = strtab_count(&d->sd->strings), n;

	if (c->err || nt > (uint64_t)(c->end - c->p) || VEC_RESERVE(&d->sd->types, nt))
		return c->err || nt > (uint64_t)(c->end - c->p) ? -EBADMSG : -ENOMEM;
	for (uint64_t i = 0; i < nt && !c->err; i++) {
		struct sd_type t;

		t.sample_type = CHECK_ID(c, cursor_uvarint(c), ns);
		t.sample_unit = CHECK_ID(c, cursor_uvarint(c), ns);
		t.period_type = CHECK_ID(c, cursor_uvarint(c), ns);
		t.period_unit = CHECK_ID(c, cursor_uvarint(c), ns);
		t.period = cursor_svarint(c);
		d->sd->types.v[d->sd->types.len++] = t;
	}
	n = cursor_uvarint(c);
	if (c->err || n + 1 != d->si->series || n > (uint64_t)(c->end - c->p))
		return -EBADMSG;
	if (VEC_RESERVE(&d->sd->series, n))
		return -ENOMEM;
	for (uint64_t i = 0; i < n && !c->err; i++) {
		struct sd_series s;
		uint64_t nl;

		s.type = CHECK_ID(c, cursor_uvarint(c), d->sd->types.len);
		nl = cursor_uvarint(c);
		if (c->err || nl > SVC_MAX_LABELS)
			return -EBADMSG;
		s.first_label = (uint32_t)d->sd->labels.len;
		s.nlabels = (uint32_t)nl;
		if (VEC_RESERVE(&d->sd->labels, nl))
			return -ENOMEM;
		for (uint64_t k = 0; k < nl; k++) {
			struct sd_label l;

			l.key = CHECK_ID(c, cursor_uvarint(c), ns);
			l.value = CHECK_ID(c, cursor_uvarint(c), ns);
			/* sorted by key, each key once: what svcdata__series makes */
			if (k && d->sd->labels.v[d->sd->labels.len - 1].key >= l.key)
				return -EBADMSG;
			d->sd->labels.v[d->sd->labels.len++] = l;
		}
		d->sd->series.v[d->sd->series.len++] = s;
	}
	return c->err ? -EBADMSG : 0;
}

static int dec_columns(struct dec *d, struct cursor cols[4], uint64_t unit, bool with_stacks)
{
	uint64_t rows = d->si->rows, done = 0, base = d->si->min_time_ns;
	uint32_t series = 0;

	/* every row takes at least a byte of the time and value columns */
	if (rows > (uint64_t)(cols[1].end - cols[1].p) ||
	    rows > (uint64_t)(cols[3].end - cols[3].p))
		return -EBADMSG;
	if (VEC_RESERVE(&d->sd->rows, rows))
		return -ENOMEM;
	while (done < rows) {
		uint64_t delta = cursor_uvarint(&cols[0]), run = cursor_uvarint(&cols[0]);
		uint64_t t = base;

		if (cols[0].err || run == 0 || run > rows - done || delta > UINT32_MAX - series ||
		    (done && delta == 0))
			return -EBADMSG;
		series += (uint32_t)delta;
		if (series >= d->si->series)
			return -EBADMSG;
		for (uint64_t i = 0; i < run; i++) {
			struct sd_row r;
			uint64_t dt = cursor_uvarint(&cols[1]);

			if (dt > (d->si->max_time_ns - t) / unit)
				return -EBADMSG;
			t += dt * unit;
			r.series = series;
			r.time_ns = t;
			r.stack = with_stacks ? CHECK_ID(&cols[2], cursor_uvarint(&cols[2]),
							 d->si->nodes)
					      : 0;
			r.value = cursor_svarint(&cols[3]);
			d->sd->rows.v[d->sd->rows.len++] = r;
		}
		done += run;
	}
	for (int k = 0; k < 4; k++)
		if (cols[k].err || (cols[k].p != cols[k].end && (k != 2 || with_stacks)))
			return -EBADMSG;
	return 0;
}

/*
 * Decompresses the zstd frame p, which must hold exactly ulen bytes, into out. out grows with
 * what the frame really holds (from a few times its compressed size, doubling up to ulen): a
 * footer claiming a huge section costs nothing until the data is there. Returns 0, -ENOMEM, or
 * -EBADMSG with the reason in *why.
 */
static int unzstd(const uint8_t *p, size_t clen, size_t ulen, struct buf *out, const char **why)
{
	ZSTD_inBuffer in = {p, clen, 0};
	size_t cap = MIN(ulen + 1, MAX((size_t)64 << 10, clen * 8));
	ZSTD_DCtx *z;
	int e = 0;

	*why = "wrong length";
	if (ZSTD_getFrameContentSize(p, clen) != ulen)
		return -EBADMSG; /* the frame's own header says another length */
	z = ZSTD_createDCtx();
	buf_reset(out);
	while (!e) {
		ZSTD_outBuffer o;
		size_t r;

		if (!z || buf_reserve(out, cap - out->len)) {
			e = -ENOMEM;
			break;
		}
		o = (ZSTD_outBuffer){out->data, cap, out->len};
		r = ZSTD_decompressStream(z, &o, &in);
		out->len = o.pos;
		if (ZSTD_isError(r))
			*why = ZSTD_getErrorName(r), e = -EBADMSG;
		else if (r == 0) /* the frame's end */
			break;
		else if ((o.pos < o.size && in.pos == in.size) || cap > ulen)
			e = -EBADMSG; /* truncated, or more than claimed */
		else if (o.pos == o.size)
			cap = MIN(ulen + 1, cap * 2);
	}
	ZSTD_freeDCtx(z);
	return e ? e : out->len == ulen && in.pos == in.size ? 0 : -EBADMSG;
}

/* Decompresses section k after checking its place and checksum. */
static int section(const struct block_info *bi, size_t svc, int k, const uint8_t *data,
		   uint64_t data_off, size_t data_len, struct buf *out, char *err, size_t err_size)
{
	const struct block_section_info *si = &bi->services[svc].sections[k];
	const uint8_t *p;
	const char *why;
	int e;

	if (si->offset < data_off || si->offset - data_off > data_len ||
	    si->clen > data_len - (si->offset - data_off))
		return bad(err, err_size, "section %s outside the bytes read", section_names[k]);
	p = data + (si->offset - data_off);
	if ((uint32_t)crc32(0, p, (uInt)si->clen) != si->crc)
		return bad(err, err_size, "section %s of service '%s': checksum mismatch",
			   section_names[k], bi->services[svc].name);
	e = unzstd(p, (size_t)si->clen, (size_t)si->ulen, out, &why);
	if (e == -EBADMSG)
		return bad(err, err_size, "section %s of service '%s': %s", section_names[k],
			   bi->services[svc].name, why);
	return e;
}

struct svcdata *block_decode_service(const struct block_info *bi, size_t svc, uint32_t mask,
				     const uint8_t *data, uint64_t data_off, size_t data_len,
				     int *ret_err, char *err, size_t err_size)
{
	const struct block_service_info *si = &bi->services[svc];
	struct buf bufs[SEC_NR] = {0};
	struct cursor cols[4];
	struct dec d = {.si = si, .err = err, .err_size = err_size};
	int e = 0;

	/* what each section needs decoded before it */
	if (mask & ((1u << SEC_MAPPINGS) | (1u << SEC_FUNCTIONS) | (1u << SEC_LOCATIONS) |
		    (1u << SEC_SERIES)))
		mask |= 1u << SEC_STRINGS;
	if (mask & (1u << SEC_LOCATIONS))
		mask |= (1u << SEC_MAPPINGS) | (1u << SEC_FUNCTIONS);
	if (mask & (1u << SEC_STACKS))
		mask |= 1u << SEC_LOCATIONS | (1u << SEC_STRINGS) | (1u << SEC_MAPPINGS) |
			(1u << SEC_FUNCTIONS);
	if (mask & ((1u << SEC_COL_SERIES) | (1u << SEC_COL_TIME) | (1u << SEC_COL_VALUE) |
		    (1u << SEC_COL_STACK)))
		mask |= (1u << SEC_COL_SERIES) | (1u << SEC_COL_TIME) | (1u << SEC_COL_VALUE);
	d.sd = svcdata__new(si->name);
	if (!d.sd) {
		*ret_err = -ENOMEM;
		return NULL;
	}
	d.sd->indexed = false;
	d.sd->profiles = si->profiles;
	d.sd->min_time_ns = si->min_time_ns;
	d.sd->max_time_ns = si->max_time_ns;
	for (int k = 0; k < SEC_NR && !e; k++)
		if (mask & (1u << k))
			e = section(bi, svc, k, data, data_off, data_len, &bufs[k], err, err_size);
#define RUN(k, fn)                                                                            \
	do {                                                                                  \
		if (!e && (mask & (1u << (k)))) {                                             \
			struct cursor c = {bufs[k].data, bufs[k].data + bufs[k].len, false};  \
			e = fn(&d, &c);                                                       \
			if (!e && c.p != c.end)                                               \
				e = -EBADMSG;                                                 \
			if (e == -EBADMSG)                                                    \
				bad(err, err_size, "section %s of service '%s' is malformed", \
				    section_names[k], si->name);                              \
		}                                                                             \
	} while (0)
	RUN(SEC_STRINGS, dec_strings);
	RUN(SEC_MAPPINGS, dec_mappings);
	RUN(SEC_FUNCTIONS, dec_functions);
	RUN(SEC_LOCATIONS, dec_locations);
	RUN(SEC_STACKS, dec_stacks);
	RUN(SEC_SERIES, dec_series);
#undef RUN
	if (!e && (mask & (1u << SEC_COL_SERIES))) {
		for (int k = 0; k < 4; k++)
			cols[k] = (struct cursor){bufs[SEC_COL_SERIES + k].data,
						  bufs[SEC_COL_SERIES + k].data +
							  bufs[SEC_COL_SERIES + k].len,
						  false};
		e = dec_columns(&d, cols, bi->time_unit_ns, mask & (1u << SEC_COL_STACK));
		if (e == -EBADMSG)
			bad(err, err_size, "the sample columns of service '%s' are malformed",
			    si->name);
	}
	for (int k = 0; k < SEC_NR; k++)
		buf_free(&bufs[k]);
	if (e) {
		if (e == -ENOMEM)
			snprintf(err, err_size, "out of memory");
		svcdata__free(d.sd);
		*ret_err = e;
		return NULL;
	}
	return d.sd;
}
