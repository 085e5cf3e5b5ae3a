/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An OTLP ExportProfilesServiceRequest built by hand, for the collector's unit tests
 * (test_collector, test_segment): one resource (service.name as given, or none; process.pid
 * 4242), one profile at 1700000000 s of samples:count, period cpu:nanoseconds 10 ms, with
 *   sample 0: main;work (thread.name "main-thread"), values 1 and 1 at +10 ms and +20 ms
 *   sample 1: an unsymbolized frame of /usr/bin/app at 0x1300, value 5 at the profile's time
 * Tests change fields of the builder to make it malformed.
 */
#ifndef SONDE_TEST_OTLP_FIXTURE_H
#define SONDE_TEST_OTLP_FIXTURE_H

#include <string.h>

#include "../../common/buf.h"
#include "../../common/util.h"
#include "../../proto/otlp.h"

struct otlp_builder {
	Request req;
	Dictionary dict;
	char *strings[16];
	Mapping mapping0, mapping1, *mappings[2];
	Function fn0, fn1, fn2, *functions[3];
	Line lines[3], *line_ptrs[3];
	Location loc0, loc1, loc2, loc3, *locations[4];
	int32_t stack1_locs[2], stack2_locs[1];
	Stack st0, st1, st2, *stacks[3];
	AnyValue av[4];
	KeyValueAndUnit attr0, attr1, attr2, *attrs[3];
	int32_t loc_attrs[1], map_attrs[1], sample_attrs[1];
	AnyValue rv[2];
	KeyValue rkv[2], *rkvs[2];
	Resource res;
	Sample sample0, sample1, *samples[2];
	int64_t values0[2], values1[1];
	uint64_t ts0[2];
	ValueType stype, ptype;
	Profile prof, *profs[1];
	ScopeProfiles scope, *scopes[1];
	ResourceProfiles rp, *rps[1];
};

static inline void build_request(struct otlp_builder *b, const char *service)
{
	static const char *const strs[] = {"",
					   "main",
					   "work",
					   "app.c",
					   "/usr/bin/app",
					   "samples",
					   "count",
					   "cpu",
					   "nanoseconds",
					   "profile.frame.type",
					   "native",
					   "thread.name",
					   "process.executable.build_id.gnu",
					   "deadbeef",
					   "inl"};

	memset(b, 0, sizeof(*b));
	b->req = (Request)Request_INIT;
	b->dict = (Dictionary)Dictionary_INIT;
	for (size_t i = 0; i < ARRAY_SIZE(strs); i++)
		b->strings[i] = (char *)strs[i];
	b->dict.string_table = b->strings;
	b->dict.n_string_table = ARRAY_SIZE(strs);
	b->av[0] = (AnyValue)AnyValue_INIT;
	b->av[0].value_case = ANY_STRINDEX;
	b->av[0].string_value_strindex = 10; /* native */
	b->av[1] = (AnyValue)AnyValue_INIT;
	b->av[1].value_case = ANY_STRING;
	b->av[1].string_value = "main-thread";
	b->av[2] = (AnyValue)AnyValue_INIT;
	b->av[2].value_case = ANY_STRING;
	b->av[2].string_value = "deadbeef";
	b->attr0 = (KeyValueAndUnit)KeyValueAndUnit_INIT;
	b->attr1 = (KeyValueAndUnit)KeyValueAndUnit_INIT;
	b->attr1.key_strindex = 9;
	b->attr1.value = &b->av[0];
	b->attr2 = (KeyValueAndUnit)KeyValueAndUnit_INIT;
	b->attr2.key_strindex = 11;
	b->attr2.value = &b->av[1];
	b->attrs[0] = &b->attr0;
	b->attrs[1] = &b->attr1;
	b->attrs[2] = &b->attr2;
	b->dict.attribute_table = b->attrs;
	b->dict.n_attribute_table = 3;
	b->mapping0 = (Mapping)Mapping_INIT;
	b->mapping1 = (Mapping)Mapping_INIT;
	b->mapping1.memory_start = 0x1000;
	b->mapping1.memory_limit = 0x5000;
	b->mapping1.filename_strindex = 4;
	b->mappings[0] = &b->mapping0;
	b->mappings[1] = &b->mapping1;
	b->dict.mapping_table = b->mappings;
	b->dict.n_mapping_table = 2;
	b->fn0 = (Function)Function_INIT;
	b->fn1 = (Function)Function_INIT;
	b->fn1.name_strindex = 1;
	b->fn1.filename_strindex = 3;
	b->fn2 = (Function)Function_INIT;
	b->fn2.name_strindex = 2;
	b->fn2.filename_strindex = 3;
	b->functions[0] = &b->fn0;
	b->functions[1] = &b->fn1;
	b->functions[2] = &b->fn2;
	b->dict.function_table = b->functions;
	b->dict.n_function_table = 3;
	for (int i = 0; i < 3; i++) {
		b->lines[i] = (Line)Line_INIT;
		b->line_ptrs[i] = &b->lines[i];
	}
	b->lines[0].function_index = 1;
	b->lines[0].line = 10;
	b->lines[1].function_index = 2;
	b->lines[1].line = 20;
	b->loc_attrs[0] = 1;
	b->loc0 = (Location)Location_INIT;
	b->loc1 = (Location)Location_INIT;
	b->loc1.mapping_index = 1;
	b->loc1.address = 0x1100;
	b->loc1.lines = &b->line_ptrs[0];
	b->loc1.n_lines = 1;
	b->loc1.attribute_indices = b->loc_attrs;
	b->loc1.n_attribute_indices = 1;
	b->loc2 = b->loc1;
	b->loc2.address = 0x1200;
	b->loc2.lines = &b->line_ptrs[1];
	b->loc3 = (Location)Location_INIT; /* unsymbolized: mapping + address only */
	b->loc3.mapping_index = 1;
	b->loc3.address = 0x1300;
	b->loc3.attribute_indices = b->loc_attrs;
	b->loc3.n_attribute_indices = 1;
	b->locations[0] = &b->loc0;
	b->locations[1] = &b->loc1;
	b->locations[2] = &b->loc2;
	b->locations[3] = &b->loc3;
	b->dict.location_table = b->locations;
	b->dict.n_location_table = 4;
	b->stack1_locs[0] = 2; /* leaf: work */
	b->stack1_locs[1] = 1; /* main */
	b->stack2_locs[0] = 3;
	b->st0 = (Stack)Stack_INIT;
	b->st1 = (Stack)Stack_INIT;
	b->st1.location_indices = b->stack1_locs;
	b->st1.n_location_indices = 2;
	b->st2 = (Stack)Stack_INIT;
	b->st2.location_indices = b->stack2_locs;
	b->st2.n_location_indices = 1;
	b->stacks[0] = &b->st0;
	b->stacks[1] = &b->st1;
	b->stacks[2] = &b->st2;
	b->dict.stack_table = b->stacks;
	b->dict.n_stack_table = 3;
	b->req.dictionary = &b->dict;

	b->rv[0] = (AnyValue)AnyValue_INIT;
	b->rv[0].value_case = ANY_STRING;
	b->rv[0].string_value = (char *)service;
	b->rv[1] = (AnyValue)AnyValue_INIT;
	b->rv[1].value_case = ANY_INT;
	b->rv[1].int_value = 4242;
	b->rkv[0] = (KeyValue)KeyValue_INIT;
	b->rkv[0].key = "service.name";
	b->rkv[0].value = &b->rv[0];
	b->rkv[1] = (KeyValue)KeyValue_INIT;
	b->rkv[1].key = "process.pid";
	b->rkv[1].value = &b->rv[1];
	b->rkvs[0] = &b->rkv[0];
	b->rkvs[1] = &b->rkv[1];
	b->res = (Resource)Resource_INIT;
	b->res.attributes = b->rkvs;
	b->res.n_attributes = service ? 2 : 1;
	if (!service)
		b->res.attributes = &b->rkvs[1];

	b->sample_attrs[0] = 2;
	b->sample0 = (Sample)Sample_INIT;
	b->sample0.stack_index = 1;
	b->values0[0] = 1;
	b->values0[1] = 1;
	b->ts0[0] = 1700000000010000000ULL;
	b->ts0[1] = 1700000000020000000ULL;
	b->sample0.values = b->values0;
	b->sample0.n_values = 2;
	b->sample0.timestamps_unix_nano = b->ts0;
	b->sample0.n_timestamps_unix_nano = 2;
	b->sample0.attribute_indices = b->sample_attrs;
	b->sample0.n_attribute_indices = 1;
	b->sample1 = (Sample)Sample_INIT;
	b->sample1.stack_index = 2;
	b->values1[0] = 5; /* no timestamps: at the profile's time */
	b->sample1.values = b->values1;
	b->sample1.n_values = 1;
	b->samples[0] = &b->sample0;
	b->samples[1] = &b->sample1;
	b->stype = (ValueType)ValueType_INIT;
	b->stype.type_strindex = 5;
	b->stype.unit_strindex = 6;
	b->ptype = (ValueType)ValueType_INIT;
	b->ptype.type_strindex = 7;
	b->ptype.unit_strindex = 8;
	b->prof = (Profile)Profile_INIT;
	b->prof.sample_type = &b->stype;
	b->prof.period_type = &b->ptype;
	b->prof.period = 10000000;
	b->prof.time_unix_nano = 1700000000000000000ULL;
	b->prof.samples = b->samples;
	b->prof.n_samples = 2;
	b->profs[0] = &b->prof;
	b->scope = (ScopeProfiles)ScopeProfiles_INIT;
	b->scope.profiles = b->profs;
	b->scope.n_profiles = 1;
	b->scopes[0] = &b->scope;
	b->rp = (ResourceProfiles)ResourceProfiles_INIT;
	b->rp.resource = &b->res;
	b->rp.scope_profiles = b->scopes;
	b->rp.n_scope_profiles = 1;
	b->rps[0] = &b->rp;
	b->req.resource_profiles = b->rps;
	b->req.n_resource_profiles = 1;
}

static inline void pack(struct otlp_builder *b, struct buf *out)
{
	size_t n = request_get_packed_size(&b->req);

	buf_reset(out);
	buf_reserve(out, n);
	request_pack(&b->req, out->data);
	out->len = n;
}

#endif
