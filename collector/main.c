// SPDX-License-Identifier: Apache-2.0
/* sonde-collector: receives OTLP profiles and stores them. The server arrives with issue 6. */
#include <stdio.h>
#include <string.h>

#ifndef SONDE_VERSION
#define SONDE_VERSION "dev"
#endif

int main(int argc, char **argv)
{
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		puts("Usage: sonde-collector [--listen HOST:PORT] [--storage URL]\n"
		     "Receives OTLP profiles and stores them (not built yet in this version).");
		return 0;
	}
	if (argc > 1 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)) {
		printf("sonde-collector %s\n", SONDE_VERSION);
		return 0;
	}
	fprintf(stderr, "sonde-collector: the collector is not built yet in this version\n");
	return 2;
}
