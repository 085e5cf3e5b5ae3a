// SPDX-License-Identifier: Apache-2.0
/*
 * Commands on a collector's query API (docs/query-api.md):
 *   sonde top|flamegraph|diff|series|labels|export --url URL [SELECTOR] [--from T] [--to T]
 * They ask for tab-separated answers and print aligned tables, an indented flame graph (or an
 * SVG one), so scripts can rely on the columns and the exit codes.
 */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli.h"
#include "../common/buf.h"
#include "../common/util.h"

struct qargs {
	const char *cmd;
	const char *url, *selector, *from, *to, *tenant, *token, *type;
	const char *ca_file; /* the CAs an https collector is checked against; NULL: the system's */
	const char *svg, *output, *format, *group_by, *step, *name, *sort;
	const char *right_selector, *right_from, *right_to;
	unsigned long limit, max_nodes;
	double min_percent;
	bool wide; /* top: whole function names, however long */
};

/* ---- HTTP
 * ---------------------------------------------------------------------------------------- */

static void add_param(CURL *c, struct buf *u, const char *name, const char *value)
{
	char *e;

	if (!value)
		return;
	e = curl_easy_escape(c, value, 0);
	buf_printf(u, "%s%s=%s", strchr((const char *)buf_cstr(u), '?') ? "&" : "?", name,
		   e ? e : "");
	curl_free(e);
}

/* GETs /api/v1/OP with the common parameters plus extra (name, value pairs, NULL-terminated). */
static int api_get(const struct qargs *a, const char *op, struct buf *out, const char *const *extra)
{
	struct cli_conn conn = {a->cmd, a->url, a->tenant, a->token, a->ca_file};
	CURL *c = curl_easy_init();
	struct buf url = {0};
	long status = 0;
	int ret;

	if (!c)
		return CLI_ERROR;
	buf_printf(&url, "%s/api/v1/%s", a->url, op);
	add_param(c, &url, "query", a->selector);
	add_param(c, &url, "from", a->from);
	add_param(c, &url, "to", a->to);
	add_param(c, &url, "type", a->type);
	for (; extra && extra[0]; extra += 2)
		add_param(c, &url, extra[0], extra[1]);
	curl_easy_cleanup(c);
	ret = cli_http(&conn, "GET", buf_cstr(&url), NULL, 0, &status, out);
	if (!ret && status != 200) {
		cli_http_error(&conn, status, out);
		ret = status >= 400 && status < 500 ? CLI_USAGE : CLI_ERROR;
	}
	buf_free(&url);
	return ret;
}

/* ---- tab-separated answers ---------------------------------------------------------------------
 */

struct row {
	char *f[6];
	int n;
};

typedef VEC(struct row) rows_t;

/* Splits body into rows of tab-separated fields (in place); lines starting with '#' are notes. */
static void split_rows(struct buf *body, rows_t *rows, const char **note)
{
	char *p = (char *)buf_cstr(body);

	*note = NULL;
	while (p && *p) {
		char *nl = strchr(p, '\n');
		struct row r = {0};

		if (nl)
			*nl = 0;
		if (*p == '#') {
			*note = p + 2;
		} else {
			for (char *f = p; f && r.n < 6; r.n++) {
				char *t = strchr(f, '\t');

				r.f[r.n] = f;
				if (t)
					*t = 0;
				f = t ? t + 1 : NULL;
			}
			if (VEC_PUSH(rows, r))
				break;
		}
		p = nl ? nl + 1 : NULL;
	}
}

static double num(const struct row *r, int i)
{
	return i < r->n ? strtod(r->f[i], NULL) : 0;
}

static double pct(double a, double b)
{
	return b > 0 ? 100.0 * a / b : 0;
}

/* ---- SVG --------------------------------------------------------------------------------------
 */

static void xml_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '&':
			fputs("&amp;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		default:
			fputc(*s, f);
		}
	}
}

/* An icicle of the nodes (depth, name, total, self[, total_right, self_right]), pre-order. */
static int write_svg(const char *path, const rows_t *rows, bool diff)
{
	const double width = 1200, row_h = 17;
	double next[1024] = {0},
	       total = rows->len ? num(&rows->v[0], 2) + (diff ? num(&rows->v[0], 4) : 0) : 0;
	double sum_l = rows->len ? num(&rows->v[0], 2) : 0,
	       sum_r = rows->len ? num(&rows->v[0], 4) : 0;
	int max_depth = 0;
	FILE *f;

	for (size_t i = 0; i < rows->len; i++)
		max_depth = MAX(max_depth, (int)num(&rows->v[i], 0));
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f,
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
		"font-family=\"monospace\" font-size=\"11\">\n",
		width, (max_depth + 1) * row_h + 2);
	for (size_t i = 0; i < rows->len && total > 0; i++) {
		const struct row *r = &rows->v[i];
		int d = MIN((int)num(r, 0), 1022);
		double w = num(r, 2) + (diff ? num(r, 4) : 0), x = d == 0 ? 0 : next[d];
		unsigned int h = 0, red, green, blue;

		next[d] = x + w;
		next[d + 1] = x;
		x = x / total * width;
		w = w / total * width;
		if (w < 0.3)
			continue;
		for (const char *c = r->f[1]; *c; c++)
			h = h * 31 + (unsigned char)*c;
		if (diff) {
			double l = sum_l > 0 ? num(r, 2) / sum_l : 0,
			       rr = sum_r > 0 ? num(r, 4) / sum_r : 0;
			double k = fmin(1, fabs(rr - l) / fmax(fmax(l, rr), 1e-9));

			red = (unsigned int)(220 + ((rr > l ? 227 : 49) - 220) * k);
			green = (unsigned int)(220 + ((rr > l ? 74 : 130) - 220) * k);
			blue = (unsigned int)(220 + ((rr > l ? 51 : 189) - 220) * k);
		} else {
			red = 205 + h % 50;
			green = 100 + (h >> 8) % 120;
			blue = 40 + (h >> 16) % 40;
		}
		fputs("<g><title>", f);
		xml_text(f, r->f[1]);
		fprintf(f,
			" (%.0f, %.2f%%)</title><rect x=\"%.1f\" y=\"%.0f\" width=\"%.1f\" "
			"height=\"%.0f\" fill=\"rgb(%u,%u,%u)\"/>",
			num(r, 2), pct(num(r, 2), sum_l), x, d * row_h, w, row_h - 1, red, green,
			blue);
		if (w > 40) {
			char label[256];
			size_t fit = (size_t)(w / 6.7);

			snprintf(label, sizeof(label), "%.*s", (int)MIN(fit, sizeof(label) - 1),
				 r->f[1]);
			fprintf(f, "<text x=\"%.1f\" y=\"%.0f\">", x + 3, d * row_h + 12);
			xml_text(f, label);
			fputs("</text>", f);
		}
		fputs("</g>\n", f);
	}
	fputs("</svg>\n", f);
	return fclose(f) ? -errno : 0;
}

/* ---- the commands ------------------------------------------------------------------------------
 */

/*
 * The columns to fit: the terminal's width when stdout is one; otherwise COLUMNS, or 100 (a
 * pipe or a file has no width, and 100 keeps lines readable in a log).
 */
static unsigned output_columns(void)
{
	struct winsize ws;
	const char *env = getenv("COLUMNS");
	uint64_t n;

	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	if (env && parse_u64(env, &n) == 0 && n > 0 && n < 100000)
		return (unsigned)n;
	return 100;
}

#define TOP_NUMBERS_COLS 43 /* "%6.2f%% %12.0f %6.2f%% %12.0f  " */
#define TOP_NAME_MIN_COLS 10

/*
 * What the values of a --type are counted in, for the totals: the unit of a profile type ID
 * (name:sample_type:UNIT:...) or of SAMPLE_TYPE:UNIT ("bytes", "nanoseconds"), "samples" for
 * samples (and Sonde's CPU samples, the default type).
 */
static const char *unit_word(const char *type)
{
	static __thread char unit[64];
	const char *f[5] = {0};
	size_t n = 0;

	if (!type)
		return "samples";
	for (const char *p = type; p && n < 5; p = strchr(p, ':'), p = p ? p + 1 : NULL)
		f[n++] = p;
	if (n < 2)
		return "samples";
	/* the sample type and unit: fields 2 and 3 of an ID, 1 and 2 of SAMPLE_TYPE:UNIT */
	const char *st = n >= 5 ? f[1] : f[0], *u = n >= 5 ? f[2] : f[1];

	snprintf(unit, sizeof(unit), "%.*s", (int)strcspn(u, ":"), u);
	if (strcmp(unit, "count") == 0 && strncmp(st, "samples:", 8) == 0)
		return "samples";
	return unit;
}

static int do_top(const struct qargs *a)
{
	char limit[32];
	const char *extra[] = {"format", "tsv", "limit", limit, "sort", a->sort, NULL};
	struct buf body = {0}, all = {0};
	rows_t rows = {0};
	const char *note;
	double total = 0;
	unsigned cols, name_cols;
	int ret;

	snprintf(limit, sizeof(limit), "%lu", a->limit);
	/* the total comes with the flame graph's root */
	ret = api_get(a, "top", &body, extra);
	if (!ret) {
		const char *fx[] = {"format", "tsv", "max_nodes", "1", NULL};

		rows_t root = {0};

		ret = api_get(a, "flamegraph", &all, fx);
		split_rows(&all, &root, &note);
		total = root.len ? num(&root.v[0], 2) : 0;
		VEC_FREE(&root);
	}
	if (ret)
		goto out;
	split_rows(&body, &rows, &note);
	if (!rows.len) {
		fprintf(stderr, "sonde top: no samples match\n");
		ret = CLI_NOT_FOUND;
		goto out;
	}
	cols = output_columns();
	name_cols = cols > TOP_NUMBERS_COLS + TOP_NAME_MIN_COLS ? cols - TOP_NUMBERS_COLS
								: TOP_NAME_MIN_COLS;
	printf("%7s %12s %7s %12s  %s\n", "SELF%", "SELF", "TOTAL%", "TOTAL", "FUNCTION");
	for (size_t i = 0; i < rows.len; i++) {
		const struct row *r = &rows.v[i];
		char name[4 * 512 + 1];
		const char *shown = r->f[0];

		if (!a->wide) {
			str_elide_middle(r->f[0], MIN(name_cols, 512u), name, sizeof(name));
			shown = name;
		}
		printf("%6.2f%% %12.0f %6.2f%% %12.0f  %s\n", pct(num(r, 1), total), num(r, 1),
		       pct(num(r, 2), total), num(r, 2), shown);
	}
	printf("total %.0f %s\n", total, unit_word(a->type));
out:
	VEC_FREE(&rows);
	buf_free(&body);
	buf_free(&all);
	return ret;
}

static int do_flamegraph(const struct qargs *a, bool diff)
{
	char nodes[32];
	const char *extra[] = {"format",     "tsv",	    "max_nodes",
			       nodes,	     "right_query", a->right_selector,
			       "right_from", a->right_from, "right_to",
			       a->right_to,  NULL};
	struct buf body = {0};
	rows_t rows = {0};
	const char *note;
	double total_l, total_r;
	int ret;

	snprintf(nodes, sizeof(nodes), "%lu", a->max_nodes);
	if (!diff)
		extra[4] = NULL;
	ret = api_get(a, diff ? "diff" : "flamegraph", &body, extra);
	if (ret)
		goto out;
	split_rows(&body, &rows, &note);
	total_l = rows.len ? num(&rows.v[0], 2) : 0;
	total_r = rows.len ? num(&rows.v[0], 4) : 0;
	if (!rows.len || (total_l == 0 && total_r == 0)) {
		fprintf(stderr, "sonde %s: no samples match\n", a->cmd);
		ret = CLI_NOT_FOUND;
		goto out;
	}
	if (a->svg) {
		int e = write_svg(a->svg, &rows, diff);

		if (e) {
			fprintf(stderr, "sonde %s: cannot write %s: %s\n", a->cmd, a->svg,
				strerror(-e));
			ret = CLI_ERROR;
			goto out;
		}
		fprintf(stderr, "sonde %s: wrote %s\n", a->cmd, a->svg);
		goto out;
	}
	if (diff)
		printf("%7s %7s %8s  %s\n", "LEFT%", "RIGHT%", "CHANGE", "STACK");
	else
		printf("%7s %7s %10s  %s\n", "TOTAL%", "SELF%", "TOTAL", "STACK");
	for (size_t i = 0; i < rows.len; i++) {
		const struct row *r = &rows.v[i];
		int depth = (int)num(r, 0);
		double l = pct(num(r, 2), total_l), rr = pct(num(r, 4), total_r);

		if (MAX(l, rr) < a->min_percent)
			continue;
		if (diff)
			printf("%6.2f%% %6.2f%% %+7.2f  %*s%s\n", l, rr, rr - l, depth * 2, "",
			       r->f[1]);
		else
			printf("%6.2f%% %6.2f%% %10.0f  %*s%s\n", l, pct(num(r, 3), total_l),
			       num(r, 2), depth * 2, "", r->f[1]);
	}
	if (note)
		printf("(%s)\n", note);
out:
	VEC_FREE(&rows);
	buf_free(&body);
	return ret;
}

static int do_series(const struct qargs *a)
{
	const char *extra[] = {"format", "tsv", "group_by", a->group_by, "step", a->step, NULL};
	struct buf body = {0};
	rows_t rows = {0};
	const char *note;
	double sum = 0;
	int ret = api_get(a, "series", &body, extra);

	if (ret)
		goto out;
	split_rows(&body, &rows, &note);
	for (size_t i = 0; i < rows.len; i++)
		sum += num(&rows.v[i], 2);
	if (!rows.len || sum == 0) {
		fprintf(stderr, "sonde series: no samples match\n");
		ret = CLI_NOT_FOUND;
		goto out;
	}
	printf("%-24s %10s  %s\n", "TIME", "VALUE", a->group_by ? a->group_by : "");
	for (size_t i = 0; i < rows.len; i++) {
		const struct row *r = &rows.v[i];
		time_t t = (time_t)(num(r, 1) / 1000);
		struct tm tm;
		char ts[32];

		gmtime_r(&t, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
		printf("%-24s %10.0f  %s\n", ts, num(r, 2), a->group_by ? r->f[0] : "");
	}
out:
	VEC_FREE(&rows);
	buf_free(&body);
	return ret;
}

static int do_labels(const struct qargs *a)
{
	const char *extra[] = {"format", "tsv", "name", a->name, NULL};
	struct buf body = {0};
	int ret = api_get(a, a->name ? "label_values" : "labels", &body, extra);

	if (!ret) {
		if (body.len)
			fwrite(body.data, 1, body.len, stdout);
		if (!body.len) {
			fprintf(stderr, "sonde labels: nothing matches\n");
			ret = CLI_NOT_FOUND;
		}
	}
	buf_free(&body);
	return ret;
}

static int do_export(const struct qargs *a)
{
	const char *fmt = a->format ? a->format : "pprof";
	const char *extra[] = {"format", fmt, NULL};
	struct buf body = {0};
	int ret;

	if (cli_binary_to_terminal("export", strcmp(fmt, "pprof") == 0, a->output))
		return CLI_USAGE;
	ret = api_get(a, "export", &body, extra);
	if (!ret)
		ret = cli_write_output("export", a->output, body.data, body.len);
	if (!ret && strcmp(fmt, "folded") == 0 && body.len == 0) {
		fprintf(stderr, "sonde export: no samples match\n");
		ret = CLI_NOT_FOUND;
	}
	buf_free(&body);
	return ret;
}

static const char usage_common[] =
	"  -u, --url URL          the collector (default: $SONDE_URL, else http://127.0.0.1:4040)\n"
	"      --from TIME        default: now-1h; RFC 3339, Unix seconds, now, now-1h, -30m\n"
	"      --to TIME          default: now\n"
	"      --tenant T         X-Scope-OrgID\n"
	"      --token TOKEN      Authorization: Bearer TOKEN (default: $SONDE_TOKEN)\n"
	"      --ca-file FILE     CA certificates for an https URL (default: $SONDE_CA_FILE)\n"
	"      --type T           profile type (process_cpu:cpu:nanoseconds:cpu:nanoseconds, or\n"
	"                         SAMPLE_TYPE:UNIT); list them: sonde labels --name "
	"__profile_type__\n"
	"                         (default: the CPU samples, else the first type)\n"
	"  -h, --help             show this help\n"
	"\n"
	"SELECTOR is Prometheus-style: '{service_name=\"api\", k8s_namespace_name=~\"prod-.*\"}'\n"
	"(labels with '_' for '.'); default: everything.\n"
	"Exit codes: 0 ok, 1 nothing matched, 2 usage error or a query the collector refused,\n"
	"3 the collector could not be reached or failed.\n";

/* --help of one command: what it does, its own options, then the common ones */
static void print_help(const char *cmd)
{
	printf("Usage: sonde %s [OPTIONS] [SELECTOR]\n\n", cmd);
	if (strcmp(cmd, "top") == 0)
		fputs("Top functions by self time (--sort total: by total).\n"
		      "Long names are elided in the middle to fit the terminal (or\n"
		      "COLUMNS, or 100 columns when not a terminal).\n\n"
		      "      --limit N          functions to show (default 20)\n"
		      "      --wide             whole function names\n",
		      stdout);
	else if (strcmp(cmd, "flamegraph") == 0 || strcmp(cmd, "diff") == 0)
		fputs(strcmp(cmd, "diff") == 0 ? "The flame graph of SELECTOR over --from..--to "
						 "(left) against --right-query\n"
						 "over --right-from..--right-to (right; each "
						 "defaults to the left's), as\n"
						 "percentages of each side and their change.\n\n"
						 "      --right-query SEL, --right-from T, "
						 "--right-to T\n"
					       : "The merged flame graph as an indented tree (or "
						 "--svg FILE).\n\n",
		      stdout),
			fputs("      --max-nodes N      nodes the collector sends "
			      "(default 200; the smallest\n"
			      "                         are folded into "
			      "\"other\")\n"
			      "      --min-percent P    hide nodes under P% "
			      "(default 0.5)\n"
			      "      --svg FILE         write an SVG flame graph "
			      "instead\n",
			      stdout);
	else if (strcmp(cmd, "series") == 0)
		fputs("Samples over time.\n\n"
		      "      --step D           (default: about 120 steps over the "
		      "range)\n"
		      "      --group-by LABEL   one series per value of LABEL\n",
		      stdout);
	else if (strcmp(cmd, "labels") == 0)
		fputs("Label names, or the values of --name LABEL.\n\n", stdout);
	else
		fputs("The selected profile, merged.\n\n"
		      "      --format F         pprof (default; -o, a pipe or a "
		      "redirection) | folded\n"
		      "  -o, --output FILE\n",
		      stdout);
	fputs(usage_common, stdout);
}

/* The command line of a query command into *a: true to run it, else false with *code set. */
static bool parse_qargs(const char *cmd, int argc, char **argv, struct qargs *a, int *code)
{
	enum {
		O_FROM = 256,
		O_TO,
		O_TENANT,
		O_TOKEN,
		O_TYPE,
		O_SVG,
		O_FORMAT,
		O_GROUP,
		O_STEP,
		O_NAME,
		O_LIMIT,
		O_NODES,
		O_MIN,
		O_SORT,
		O_RQUERY,
		O_RFROM,
		O_RTO,
		O_WIDE,
		O_CA
	};
	static const struct option opts[] = {
		{"url", required_argument, NULL, 'u'},
		{"from", required_argument, NULL, O_FROM},
		{"to", required_argument, NULL, O_TO},
		{"tenant", required_argument, NULL, O_TENANT},
		{"token", required_argument, NULL, O_TOKEN},
		{"ca-file", required_argument, NULL, O_CA},
		{"type", required_argument, NULL, O_TYPE},
		{"svg", required_argument, NULL, O_SVG},
		{"format", required_argument, NULL, O_FORMAT},
		{"output", required_argument, NULL, 'o'},
		{"group-by", required_argument, NULL, O_GROUP},
		{"step", required_argument, NULL, O_STEP},
		{"name", required_argument, NULL, O_NAME},
		{"limit", required_argument, NULL, O_LIMIT},
		{"max-nodes", required_argument, NULL, O_NODES},
		{"min-percent", required_argument, NULL, O_MIN},
		{"sort", required_argument, NULL, O_SORT},
		{"right-query", required_argument, NULL, O_RQUERY},
		{"right-from", required_argument, NULL, O_RFROM},
		{"right-to", required_argument, NULL, O_RTO},
		{"wide", no_argument, NULL, O_WIDE},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;
	uint64_t u;

	*a = (struct qargs){.cmd = cmd, .limit = 20, .max_nodes = 200, .min_percent = 0.5};
	a->url = getenv("SONDE_URL") ? getenv("SONDE_URL") : "http://127.0.0.1:4040";
	a->token = getenv("SONDE_TOKEN");
	a->ca_file = getenv("SONDE_CA_FILE");
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "u:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'u':
			a->url = optarg;
			break;
		case O_FROM:
			a->from = optarg;
			break;
		case O_TO:
			a->to = optarg;
			break;
		case O_TENANT:
			a->tenant = optarg;
			break;
		case O_TOKEN:
			a->token = optarg;
			break;
		case O_CA:
			a->ca_file = optarg;
			break;
		case O_TYPE:
			a->type = optarg;
			break;
		case O_SVG:
			a->svg = optarg;
			break;
		case O_FORMAT:
			a->format = optarg;
			break;
		case 'o':
			a->output = optarg;
			break;
		case O_GROUP:
			a->group_by = optarg;
			break;
		case O_STEP:
			a->step = optarg;
			break;
		case O_NAME:
			a->name = optarg;
			break;
		case O_SORT:
			a->sort = optarg;
			break;
		case O_RQUERY:
			a->right_selector = optarg;
			break;
		case O_RFROM:
			a->right_from = optarg;
			break;
		case O_RTO:
			a->right_to = optarg;
			break;
		case O_WIDE:
			a->wide = true;
			break;
		case O_LIMIT:
		case O_NODES:
			if (parse_u64(optarg, &u) || u == 0 || u > 100000) {
				fprintf(stderr, "sonde %s: invalid --%s '%s': expected 1..100000\n",
					cmd, c == O_LIMIT ? "limit" : "max-nodes", optarg);
				*code = CLI_USAGE;
				return false;
			}
			*(c == O_LIMIT ? &a->limit : &a->max_nodes) = (unsigned long)u;
			break;
		case O_MIN:
			a->min_percent = strtod(optarg, NULL);
			break;
		case 'h':
			print_help(cmd);
			*code = CLI_OK;
			return false;
		default:
			fprintf(stderr,
				"sonde %s: unknown option or missing value '%s' (see --help)\n",
				cmd, argv[optind - 1]);
			*code = CLI_USAGE;
			return false;
		}
	}
	if (optind < argc)
		a->selector = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "sonde %s: unexpected argument '%s' (one SELECTOR; see --help)\n",
			cmd, argv[optind]);
		*code = CLI_USAGE;
		return false;
	}
	return true;
}

int cmd_query(const char *cmd, int argc, char **argv)
{
	struct qargs a;
	int ret;

	if (!parse_qargs(cmd, argc, argv, &a, &ret))
		return ret;
	curl_global_init(CURL_GLOBAL_ALL);
	if (strcmp(cmd, "top") == 0)
		ret = do_top(&a);
	else if (strcmp(cmd, "flamegraph") == 0)
		ret = do_flamegraph(&a, false);
	else if (strcmp(cmd, "diff") == 0)
		ret = do_flamegraph(&a, true);
	else if (strcmp(cmd, "series") == 0)
		ret = do_series(&a);
	else if (strcmp(cmd, "labels") == 0)
		ret = do_labels(&a);
	else
		ret = do_export(&a);
	curl_global_cleanup();
	return ret;
}
