// SPDX-License-Identifier: Apache-2.0
/*
 * A system-call-heavy workload: reads /dev/zero in 256 KiB chunks, so most of its time is in
 * the kernel (read_zero, clearing user pages). The system call is issued inline from do_reads,
 * a function with a frame pointer, so the user stack under the kernel frames is known:
 * main -> do_reads -> [kernel].
 *
 * usage: sysload SECONDS
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>

#include "workload.h"
#include <unistd.h>

static char buf[256 << 10];

static long raw_read(int fd, void *p, unsigned long n)
{
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"((long)SYS_read), "D"((long)fd), "S"(p), "d"(n)
			 : "rcx", "r11", "memory");
	return ret;
}

__attribute__((noinline)) void do_reads(int fd, double seconds)
{
	double end = wl_now() + seconds;

	do {
		for (int i = 0; i < 64; i++)
			raw_read(fd, buf, sizeof(buf));
	} while (wl_now() < end);
	__asm__ volatile("" ::: "memory");
}

int main(int argc, char **argv)
{
	int fd = open("/dev/zero", O_RDONLY);

	if (fd < 0)
		return 1;
	do_reads(fd, argc > 1 ? atof(argv[1]) : 5);
	return 0;
}
