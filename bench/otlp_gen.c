// SPDX-License-Identifier: Apache-2.0
/*
 * otlp_gen: writes a synthetic OTLP profiles request (protobuf) of N distinct stacks, one
 * sample of value 1 each, for load and memory tests: unlike a captured request, its size and
 * the number of distinct stacks are chosen. Stack k is main and three functions named by the
 * base-1024 digits of k, so up to 2^30 stacks differ. The samples are spread over the profile,
 * which ends now (or at --end-ns).
 *
 * usage: otlp_gen --stacks N [--service NAME] [--end-ns T] [--duration D] OUT
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"
#include "../proto/otlp_pb.h"

#define FUNCS 1024u /* functions per frame level; locations: one per function, plus main */
#define DEPTH 4

struct gen {
	Mapping mapping, *mapping_ptr;
	Link link, *link_ptr;
	uint8_t zeros[16];
	KeyValueAndUnit attr, *attr_ptr;
	char **strings;
	Function *fns, **fn_ptrs;
	Line *lines, **line_ptrs;
	Location *locs, **loc_ptrs;
	Stack *stacks, **stack_ptrs;
	int32_t *stack_locs;
	Sample *samples, **sample_ptrs;
	int64_t *values;
	uint64_t *times;
};

static void gen_free(struct gen *g)
{
	for (size_t i = 0; g->strings && i < FUNCS; i++)
		free(g->strings[6 + i]);
	free(g->strings);
	free(g->fns);
	free(g->fn_ptrs);
	free(g->lines);
	free(g->line_ptrs);
	free(g->locs);
	free(g->loc_ptrs);
	free(g->stacks);
	free(g->stack_ptrs);
	free(g->stack_locs);
	free(g->samples);
	free(g->sample_ptrs);
	free(g->values);
	free(g->times);
}

/* The dictionary: strings "", "samples", "count", "cpu", "nanoseconds", "main", f0..f1023. */
static int build_dict(struct gen *g, Dictionary *d, uint64_t nstacks)
{
	size_t nstr = 6 + FUNCS, nfn = 2 + FUNCS;

	g->strings = calloc(nstr, sizeof(char *));
	g->fns = calloc(nfn, sizeof(*g->fns));
	g->fn_ptrs = calloc(nfn, sizeof(*g->fn_ptrs));
	g->lines = calloc(nfn, sizeof(*g->lines));
	g->line_ptrs = calloc(nfn, sizeof(*g->line_ptrs));
	g->locs = calloc(nfn, sizeof(*g->locs));
	g->loc_ptrs = calloc(nfn, sizeof(*g->loc_ptrs));
	g->stacks = calloc(nstacks + 1, sizeof(*g->stacks));
	g->stack_ptrs = calloc(nstacks + 1, sizeof(*g->stack_ptrs));
	g->stack_locs = calloc((nstacks + 1) * DEPTH, sizeof(*g->stack_locs));
	if (!g->strings || !g->fns || !g->fn_ptrs || !g->lines || !g->line_ptrs || !g->locs ||
	    !g->loc_ptrs || !g->stacks || !g->stack_ptrs || !g->stack_locs)
		return -ENOMEM;
	g->strings[0] = "";
	g->strings[1] = "samples";
	g->strings[2] = "count";
	g->strings[3] = "cpu";
	g->strings[4] = "nanoseconds";
	g->strings[5] = "main";
	for (size_t i = 0; i < FUNCS; i++) {
		char name[16];

		snprintf(name, sizeof(name), "f%zu", i);
		g->strings[6 + i] = strdup(name);
		if (!g->strings[6 + i])
			return -ENOMEM;
	}
	/* function, line and location i >= 1: string 4 + i ("main", then f0...) */
	for (size_t i = 0; i < nfn; i++) {
		g->fns[i] = (Function)Function_INIT;
		g->fn_ptrs[i] = &g->fns[i];
		g->lines[i] = (Line)Line_INIT;
		g->line_ptrs[i] = &g->lines[i];
		g->locs[i] = (Location)Location_INIT;
		g->loc_ptrs[i] = &g->locs[i];
		if (!i)
			continue;
		g->fns[i].name_strindex = (int32_t)(4 + i);
		g->lines[i].function_index = (int32_t)i;
		g->locs[i].lines = &g->line_ptrs[i];
		g->locs[i].n_lines = 1;
	}
	for (uint64_t k = 0; k <= nstacks; k++) {
		int32_t *l = &g->stack_locs[k * DEPTH];

		g->stacks[k] = (Stack)Stack_INIT;
		g->stack_ptrs[k] = &g->stacks[k];
		if (!k)
			continue; /* the zero entry */
		/* leaf first: three digits of k - 1, then main */
		l[0] = (int32_t)(2 + (k - 1) % FUNCS);
		l[1] = (int32_t)(2 + (k - 1) / FUNCS % FUNCS);
		l[2] = (int32_t)(2 + (k - 1) / FUNCS / FUNCS % FUNCS);
		l[3] = 1;
		g->stacks[k].location_indices = l;
		g->stacks[k].n_location_indices = DEPTH;
	}
	/* the zero entries every table starts with */
	g->mapping = (Mapping)Mapping_INIT;
	g->mapping_ptr = &g->mapping;
	g->link = (Link)Link_INIT;
	g->link.trace_id = (ProtobufCBinaryData){16, g->zeros};
	g->link.span_id = (ProtobufCBinaryData){8, g->zeros};
	g->link_ptr = &g->link;
	g->attr = (KeyValueAndUnit)KeyValueAndUnit_INIT;
	g->attr_ptr = &g->attr;
	d->mapping_table = &g->mapping_ptr;
	d->n_mapping_table = 1;
	d->link_table = &g->link_ptr;
	d->n_link_table = 1;
	d->attribute_table = &g->attr_ptr;
	d->n_attribute_table = 1;
	d->string_table = g->strings;
	d->n_string_table = nstr;
	d->function_table = g->fn_ptrs;
	d->n_function_table = nfn;
	d->location_table = g->loc_ptrs;
	d->n_location_table = nfn;
	d->stack_table = g->stack_ptrs;
	d->n_stack_table = nstacks + 1;
	return 0;
}

static int build_samples(struct gen *g, Profile *p, uint64_t nstacks)
{
	g->samples = calloc(nstacks, sizeof(*g->samples));
	g->sample_ptrs = calloc(nstacks, sizeof(*g->sample_ptrs));
	g->values = calloc(nstacks, sizeof(*g->values));
	g->times = calloc(nstacks, sizeof(*g->times));
	if (!g->samples || !g->sample_ptrs || !g->values || !g->times)
		return -ENOMEM;
	for (uint64_t k = 0; k < nstacks; k++) {
		g->samples[k] = (Sample)Sample_INIT;
		g->sample_ptrs[k] = &g->samples[k];
		g->values[k] = 1;
		g->times[k] = p->time_unix_nano + p->duration_nano * k / nstacks;
		g->samples[k].stack_index = (int32_t)(k + 1);
		g->samples[k].values = &g->values[k];
		g->samples[k].n_values = 1;
		g->samples[k].timestamps_unix_nano = &g->times[k];
		g->samples[k].n_timestamps_unix_nano = 1;
	}
	p->samples = g->sample_ptrs;
	p->n_samples = nstacks;
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: otlp_gen --stacks N [--service NAME] [--end-ns T] "
			"[--duration D] OUT\n");
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"stacks", required_argument, NULL, 'n'},
		{"service", required_argument, NULL, 's'},
		{"end-ns", required_argument, NULL, 'e'},
		{"duration", required_argument, NULL, 'd'},
		{NULL, 0, NULL, 0},
	};
	uint64_t nstacks = 0, end = clock_ns(CLOCK_REALTIME), dur = 10 * NSEC_PER_SEC;
	const char *service = "otlp-gen";
	struct gen g = {0};
	Request req = Request_INIT;
	Dictionary dict = Dictionary_INIT;
	ResourceProfiles rp = ResourceProfiles_INIT, *rps[1] = {&rp};
	ScopeProfiles sp = ScopeProfiles_INIT, *sps[1] = {&sp};
	Profile prof = Profile_INIT, *profs[1] = {&prof};
	ValueType stype = ValueType_INIT, ptype = ValueType_INIT;
	Resource res = Resource_INIT;
	AnyValue sv = AnyValue_INIT;
	KeyValue kv = KeyValue_INIT, *kvs[1] = {&kv};
	uint8_t *out;
	size_t len;
	FILE *f;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if ((c == 'n' && parse_u64(optarg, &nstacks)) ||
		    (c == 'e' && parse_u64(optarg, &end)) ||
		    (c == 'd' && parse_duration_ns(optarg, &dur)) || c == '?')
			return usage();
		if (c == 's')
			service = optarg;
	}
	if (optind != argc - 1 || !nstacks || nstacks > (1ULL << 30) || !dur || dur > end)
		return usage();
	sv.value_case = ANY_STRING;
	sv.string_value = (char *)service;
	kv.key = "service.name";
	kv.value = &sv;
	res.attributes = kvs;
	res.n_attributes = 1;
	stype.type_strindex = 1;
	stype.unit_strindex = 2;
	ptype.type_strindex = 3;
	ptype.unit_strindex = 4;
	prof.sample_type = &stype;
	prof.period_type = &ptype;
	prof.period = 10000000;
	prof.time_unix_nano = end - dur;
	prof.duration_nano = dur;
	if (build_dict(&g, &dict, nstacks) || build_samples(&g, &prof, nstacks)) {
		fprintf(stderr, "otlp_gen: out of memory\n");
		return 1;
	}
	sp.profiles = profs;
	sp.n_profiles = 1;
	rp.resource = &res;
	rp.scope_profiles = sps;
	rp.n_scope_profiles = 1;
	req.resource_profiles = rps;
	req.n_resource_profiles = 1;
	req.dictionary = &dict;
	len = request_get_packed_size(&req);
	out = malloc(len);
	f = fopen(argv[optind], "wbe");
	if (!out || !f || fwrite(out, 1, request_pack(&req, out), f) != len || fclose(f)) {
		fprintf(stderr, "otlp_gen: cannot write %s: %s\n", argv[optind], strerror(errno));
		return 1;
	}
	fprintf(stderr, "otlp_gen: %llu stacks, %zu bytes\n", (unsigned long long)nstacks, len);
	free(out);
	gen_free(&g); /* so LeakSanitizer (make SANITIZE=1) sees nothing left */
	return 0;
}
