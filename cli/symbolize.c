// SPDX-License-Identifier: Apache-2.0
/*
 * sonde symbolize: addresses of an ELF file (or of a build ID, through the debug directories
 * and debuginfod) to frames, inlined callees first, like eu-addr2line -i -f.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "../common/util.h"
#include "../symbolizer/elf_file.h"
#include "../symbolizer/symbolizer.h"

static const char usage[] =
	"Usage: sonde symbolize [OPTIONS] BINARY ADDRESS...\n"
	"       sonde symbolize [OPTIONS] --build-id HEX ADDRESS...\n"
	"\n"
	"Prints, for each address (an address the file was linked at, as perf, pprof and\n"
	"Sonde's [module+0xADDR] frames give it), its function, source file and line, the\n"
	"inlined callees first. Symbols come from the file, a separate debug file, debuginfod\n"
	"(DEBUGINFOD_URLS), MiniDebugInfo or Go's pc-line table. Names are demangled.\n"
	"\n"
	"Options:\n"
	"      --build-id HEX      symbolize a file known only by build ID\n"
	"      --raw               print names as stored (mangled) instead of demangled\n"
	"      --debug-dir DIRS    ':'-separated debug directories (default /usr/lib/debug)\n"
	"      --no-debuginfod     never ask debuginfod\n"
	"      --timeout S         how long to wait for symbols to load (default 30s)\n"
	"  -h, --help              show this help\n"
	"\n"
	"Exit codes: 0 every address named, 1 some not, 2 usage error, 3 the file is unreadable.\n";

/* the module of the ELF file at PATH (symbols looked up in it, its debug link and debuginfod) */
static struct sym_module *open_module(struct symbolizer *s, const char *path)
{
	struct elf_info info;
	struct sym_module *m;
	char *abs;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || elf_info__read(fd, &info)) {
		fprintf(stderr, "sonde symbolize: %s: %s\n", path,
			fd < 0 ? strerror(errno) : "not an ELF file");
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	/* absolute: .gnu_debuglink is looked for beside the file */
	abs = realpath(path, NULL);
	m = symbolizer__module(s, info.build_id, info.build_id_len, abs ? abs : path, fd);
	free(abs);
	close(fd);
	return m;
}

/* one address's frames, innermost (inlined) first */
static void print_frames(const struct sym_result *r, bool raw)
{
	for (uint32_t k = 0; k < r->nframes; k++) {
		const struct sym_frame *f = &r->frames[k];

		printf("    %s", raw ? f->raw_name : f->name);
		if (f->file) {
			printf(" at %s", f->file);
			if (f->line)
				printf(":%u", f->line);
			if (f->column)
				printf(":%u", f->column);
		}
		printf("%s\n", f->inlined ? " (inlined)" : "");
	}
}

int cmd_symbolize(int argc, char **argv)
{
	static const struct option opts[] = {
		{"build-id", required_argument, NULL, 'b'},
		{"raw", no_argument, NULL, 'r'},
		{"debug-dir", required_argument, NULL, 'd'},
		{"no-debuginfod", no_argument, NULL, 'n'},
		{"timeout", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct symbolizer_opts so = {.sz = sizeof(so)};
	struct symbolizer *s = NULL;
	struct sym_module *m = NULL;
	struct sym_result *r = NULL;
	uint8_t build_id[ELF_BUILD_ID_MAX];
	const char *build_id_hex = NULL;
	uint64_t timeout_ns = 30 * NSEC_PER_SEC;
	bool raw = false;
	int c, ret = CLI_OK, first, build_id_len = 0;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			build_id_hex = optarg;
			break;
		case 'r':
			raw = true;
			break;
		case 'd':
			so.debug_dirs = optarg;
			break;
		case 'n':
			so.no_debuginfod = true;
			break;
		case 't':
			if (parse_duration_ns(optarg, &timeout_ns)) {
				fprintf(stderr, "sonde symbolize: invalid --timeout '%s'\n",
					optarg);
				return CLI_USAGE;
			}
			break;
		case 'h':
			fputs(usage, stdout);
			return CLI_OK;
		default:
			fprintf(stderr,
				"sonde symbolize: unknown or incomplete option '%s' (see --help)\n",
				argv[optind - 1]);
			return CLI_USAGE;
		}
	}
	first = build_id_hex ? optind : optind + 1;
	if (first >= argc || (!build_id_hex && optind >= argc)) {
		fputs(usage, stderr);
		return CLI_USAGE;
	}
	if (build_id_hex) {
		build_id_len = hex_decode(build_id_hex, build_id, sizeof(build_id));
		if (build_id_len <= 0) {
			fprintf(stderr, "sonde symbolize: '%s' is not a hex build ID\n",
				build_id_hex);
			return CLI_USAGE;
		}
	}
	for (int i = first; i < argc; i++) {
		uint64_t a;

		if (parse_u64(argv[i], &a) && (strncmp(argv[i], "0x", 2) == 0 ||
					       sscanf(argv[i], "%lx", (unsigned long *)&a) != 1)) {
			fprintf(stderr, "sonde symbolize: '%s' is not an address\n", argv[i]);
			return CLI_USAGE;
		}
	}

	s = symbolizer__new(&so);
	r = malloc(sizeof(*r));
	if (!s || !r) {
		fprintf(stderr, "sonde symbolize: out of memory\n");
		ret = CLI_ERROR;
		goto out;
	}
	m = build_id_hex ? symbolizer__module_by_build_id(s, build_id, (size_t)build_id_len)
			 : open_module(s, argv[optind]);
	if (!m) {
		ret = CLI_ERROR;
		goto out;
	}
	symbolizer__prefetch(s, m);
	if (symbolizer__wait(s, (int)(timeout_ns / 1000000))) {
		fprintf(stderr, "sonde symbolize: symbols did not load within the timeout\n");
		ret = CLI_ERROR;
		goto out;
	}
	for (int i = first; i < argc; i++) {
		uint64_t addr = strtoull(argv[i], NULL, 16);
		int err = symbolizer__lookup(s, m, addr, r);

		printf("0x%llx\n", (unsigned long long)addr);
		if (err == -ENOENT) {
			printf("    ?? (no symbol)\n");
			ret = CLI_NOT_FOUND;
			continue;
		}
		if (err) {
			fprintf(stderr, "sonde symbolize: %s\n",
				err == -ENODATA
					? "no symbols for this build ID (no debug file in the "
					  "debug directories, none from debuginfod)"
					: strerror(-err));
			ret = CLI_ERROR;
			goto out;
		}
		print_frames(r, raw);
	}
out:
	free(r);
	symbolizer__free(s);
	return ret;
}
