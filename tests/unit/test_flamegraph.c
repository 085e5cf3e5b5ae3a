// SPDX-License-Identifier: Apache-2.0
/* collector/flamegraph: graphs, folding, top functions and diffs on samples with known answers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "collector_fixture.h"
#include "../../collector/flamegraph.h"
#include "../../collector/qctl.h"
#include "../../common/util.h"

/* The total and self of the node at path "proc;f1;f2" in a TSV flame graph, -1 if absent. */
static long long node_total(const char *tsv, const char *path, int col)
{
	char names[16][64];
	const char *p = tsv;

	while (*p) {
		unsigned int depth;
		char name[64];
		long long t, sf;
		const char *nl = strchr(p, '\n');

		if (sscanf(p, "%u\t%63[^\t]\t%lld\t%lld", &depth, name, &t, &sf) == 4 &&
		    depth < 16) {
			char full[512] = "";

			strcpy(names[depth], name);
			for (unsigned int d = 1; d <= depth; d++) {
				strcat(full, names[d]);
				if (d < depth)
					strcat(full, ";");
			}
			if (strcmp(full, path) == 0)
				return col == 0 ? t : sf;
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	return -1;
}

static void test_flamegraph(void)
{
	struct selection sel;
	struct fgraph g = {0};
	struct buf out = {0};
	const char *t;

	fixture_build(&sel);
	CHECK(fgraph_add_selection(&g, &sel, 0) == 0);
	CHECK(fgraph_tsv(&g, 1000, false, &out) == 0);
	t = buf_cstr(&out);
	CHECK_EQ_U64(node_total(t, "", 0), 160);
	CHECK_EQ_U64(node_total(t, "api", 0), 120);
	CHECK_EQ_U64(node_total(t, "api;main;a", 0), 90);
	CHECK_EQ_U64(node_total(t, "api;main;a", 1), 10);
	CHECK_EQ_U64(node_total(t, "api;main;a;b", 0), 60);
	CHECK_EQ_U64(node_total(t, "api;main;a;a;b", 1), 20);
	CHECK_EQ_U64(node_total(t, "db;main;q", 1), 40);
	CHECK(node_total(t, "db;main;a", 0) == -1);

	/* top: a's total counts the recursive stack once (90, not 110); b's self is 80 */
	buf_reset(&out);
	CHECK(fgraph_top(&g, 10, false, true, &out) == 0);
	t = buf_cstr(&out);
	CHECK(strncmp(t, "b\t80\t80\n", 8) == 0);
	CHECK(strstr(t, "\na\t10\t90\n") != NULL);
	CHECK(strstr(t, "\nmain\t0\t160\n") != NULL);
	CHECK(strstr(t, "api\t") == NULL); /* processes are not functions */
	buf_reset(&out);
	CHECK(fgraph_top(&g, 1, true, true, &out) == 0);
	CHECK_STR(buf_cstr(&out), "main\t0\t160\n");

	/* a limit of 4 nodes keeps the biggest and folds the rest into "other", totals kept */
	buf_reset(&out);
	CHECK(fgraph_json(&g, 4, false, &out) == 0);
	t = buf_cstr(&out);
	CHECK(strstr(t, "\"other\"") != NULL);
	CHECK(strstr(t, "\"total\":160") != NULL);
	CHECK(strstr(t, "\"folded_nodes\":0") == NULL);
	fgraph_free(&g);

	/* diff: the right side is db only */
	{
		struct selection right = {0};
		struct fgraph d = {0};

		CHECK(VEC_PUSH(&right.svc, sel.svc.v[1]) == 0);
		CHECK(fgraph_add_selection(&d, &sel, 0) == 0);
		CHECK(fgraph_add_selection(&d, &right, 1) == 0);
		buf_reset(&out);
		CHECK(fgraph_tsv(&d, 1000, true, &out) == 0);
		CHECK(strstr(buf_cstr(&out), "0\ttotal\t160\t0\t40\t0\n") != NULL);
		CHECK(strstr(buf_cstr(&out), "1\tapi\t120\t0\t0\t0\n") != NULL);
		VEC_FREE(&right.svc);
		fgraph_free(&d);
	}
	selection_free(&sel);
	buf_free(&out);
}

/* A query past its deadline, or cancelled, stops building and rendering its graph (qctl.h). */
static void test_flamegraph_deadline(void)
{
	struct selection sel;
	struct fgraph g = {0};
	struct buf out = {0};
	struct qctl c;

	fixture_build(&sel);
	qctl_init(&c, 1, -1); /* 1 ns: past by the first check */
	qctl_set_current(&c);
	CHECK(fgraph_add_selection(&g, &sel, 0) == -ETIMEDOUT);
	fgraph_free(&g);
	memset(&g, 0, sizeof(g));

	/* built in time, then cancelled (the client hung up): nothing is rendered */
	qctl_init(&c, 60 * NSEC_PER_SEC, -1);
	CHECK(fgraph_add_selection(&g, &sel, 0) == 0);
	qctl_cancel(&c);
	CHECK(fgraph_json(&g, 1000, false, &out) == -ECANCELED);
	CHECK(fgraph_tsv(&g, 1000, false, &out) == -ECANCELED);
	CHECK(fgraph_top(&g, 10, false, true, &out) == -ECANCELED);

	/* no control (the CLI): no limit */
	qctl_set_current(NULL);
	buf_reset(&out);
	CHECK(fgraph_tsv(&g, 1000, false, &out) == 0);
	CHECK_EQ_U64(node_total(buf_cstr(&out), "", 0), 160);
	fgraph_free(&g);
	selection_free(&sel);
	buf_free(&out);
}

int main(void)
{
	RUN(test_flamegraph);
	RUN(test_flamegraph_deadline);
	return unit_done();
}
