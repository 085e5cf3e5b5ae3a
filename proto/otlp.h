/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Short names for the C that protoc-c generates from the OTLP profiles schema (the generated
 * names are long), for the agent's encoder and the collector's decoder.
 */
#ifndef SONDE_PROTO_OTLP_H
#define SONDE_PROTO_OTLP_H

#include "google/rpc/status.pb-c.h"
#include "opentelemetry/proto/collector/profiles/v1development/profiles_service.pb-c.h"

typedef Opentelemetry__Proto__Collector__Profiles__V1development__ExportProfilesServiceRequest
	Request;
typedef Opentelemetry__Proto__Profiles__V1development__ProfilesDictionary Dictionary;
typedef Opentelemetry__Proto__Profiles__V1development__ResourceProfiles ResourceProfiles;
typedef Opentelemetry__Proto__Profiles__V1development__ScopeProfiles ScopeProfiles;
typedef Opentelemetry__Proto__Profiles__V1development__Profile Profile;
typedef Opentelemetry__Proto__Profiles__V1development__Sample Sample;
typedef Opentelemetry__Proto__Profiles__V1development__Stack Stack;
typedef Opentelemetry__Proto__Profiles__V1development__Location Location;
typedef Opentelemetry__Proto__Profiles__V1development__Line Line;
typedef Opentelemetry__Proto__Profiles__V1development__Function Function;
typedef Opentelemetry__Proto__Profiles__V1development__Mapping Mapping;
typedef Opentelemetry__Proto__Profiles__V1development__Link Link;
typedef Opentelemetry__Proto__Profiles__V1development__ValueType ValueType;
typedef Opentelemetry__Proto__Profiles__V1development__KeyValueAndUnit KeyValueAndUnit;
typedef Opentelemetry__Proto__Common__V1__AnyValue AnyValue;
typedef Opentelemetry__Proto__Common__V1__KeyValue KeyValue;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope Scope;
typedef Opentelemetry__Proto__Resource__V1__Resource Resource;

#define INIT(T, x)                                                                                 \
	do {                                                                                       \
		static const T init_ = T##_INIT;                                                   \
		*(x) = init_;                                                                      \
	} while (0)
#define Request_INIT OPENTELEMETRY__PROTO__COLLECTOR__PROFILES__V1DEVELOPMENT__EXPORT_PROFILES_SERVICE_REQUEST__INIT
#define Dictionary_INIT OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__PROFILES_DICTIONARY__INIT
#define ResourceProfiles_INIT OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__RESOURCE_PROFILES__INIT
#define ScopeProfiles_INIT OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__SCOPE_PROFILES__INIT
#define Profile_INIT OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__PROFILE__INIT
#define Sample_INIT OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__SAMPLE__INIT
#define Stack_INIT OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__STACK__INIT
#define Location_INIT OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__LOCATION__INIT
#define Line_INIT OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__LINE__INIT
#define Function_INIT OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__FUNCTION__INIT
#define Mapping_INIT OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__MAPPING__INIT
#define Link_INIT OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__LINK__INIT
#define ValueType_INIT OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__VALUE_TYPE__INIT
#define KeyValueAndUnit_INIT OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__KEY_VALUE_AND_UNIT__INIT
#define AnyValue_INIT OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT
#define KeyValue_INIT OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT
#define Scope_INIT OPENTELEMETRY__PROTO__COMMON__V1__INSTRUMENTATION_SCOPE__INIT
#define Resource_INIT OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT

typedef Opentelemetry__Proto__Collector__Profiles__V1development__ExportProfilesServiceResponse
	Response;
typedef Opentelemetry__Proto__Collector__Profiles__V1development__ExportProfilesPartialSuccess
	PartialSuccess;
#define Response_INIT OPENTELEMETRY__PROTO__COLLECTOR__PROFILES__V1DEVELOPMENT__EXPORT_PROFILES_SERVICE_RESPONSE__INIT
#define PartialSuccess_INIT OPENTELEMETRY__PROTO__COLLECTOR__PROFILES__V1DEVELOPMENT__EXPORT_PROFILES_PARTIAL_SUCCESS__INIT
typedef Google__Rpc__Status RpcStatus;
#define RpcStatus_INIT GOOGLE__RPC__STATUS__INIT

#define request_unpack opentelemetry__proto__collector__profiles__v1development__export_profiles_service_request__unpack
#define request_free_unpacked opentelemetry__proto__collector__profiles__v1development__export_profiles_service_request__free_unpacked
#define request_pack opentelemetry__proto__collector__profiles__v1development__export_profiles_service_request__pack
#define request_get_packed_size opentelemetry__proto__collector__profiles__v1development__export_profiles_service_request__get_packed_size
#define response_pack opentelemetry__proto__collector__profiles__v1development__export_profiles_service_response__pack
#define response_get_packed_size opentelemetry__proto__collector__profiles__v1development__export_profiles_service_response__get_packed_size
#define response_unpack opentelemetry__proto__collector__profiles__v1development__export_profiles_service_response__unpack
#define response_free_unpacked opentelemetry__proto__collector__profiles__v1development__export_profiles_service_response__free_unpacked

#define ANY_STRING OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE
#define ANY_BOOL OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE
#define ANY_INT OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE
#define ANY_DOUBLE OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE
#define ANY_STRINDEX OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE_STRINDEX
#define ANY_NONE OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE__NOT_SET

#endif
