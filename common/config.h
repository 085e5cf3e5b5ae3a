/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Config files for Sonde's programs: a YAML mapping whose keys are the program's long option
 * names, read into an argv that the program parses like its command line (which then wins).
 *   frequency: 100
 *   pid: [1, 2]          (a repeatable option: a list)
 *   no-debuginfod: true  (a flag: true or false)
 */
#ifndef SONDE_CONFIG_H
#define SONDE_CONFIG_H

#include <getopt.h>

#define CONFIG_MAX_BYTES (1u << 20)

/* The FILE of "--config FILE", "-c FILE" or "--config=FILE" in argv, or NULL. */
const char *config_path_in_argv(int argc, char **argv);

/*
 * Reads path into *ret_argv: prog, then "--key=value" (or "--flag") per setting, each key
 * checked against opts ("config", "help" and "version" are not settings). On failure prints
 * one line "PROG: ..." naming the file, line or key, and returns -EINVAL.
 */
int config_load_argv(const char *prog, const char *path, const struct option *opts, int *ret_argc,
		     char ***ret_argv);
void config_free_argv(int argc, char **argv);

#endif
