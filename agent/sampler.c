// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "sampler.h"
#include "sampler.skel.h"
#include "../common/log.h"
#include "../common/util.h"

#define MAX_CPUS 4096

struct sampler {
	struct sampler_bpf *skel;
	struct ring_buffer *rb;
	sampler_record_fn fn;
	void *ctx;
	struct bpf_link **links;
	uint32_t nlinks;
	uint32_t ncpus_possible;
	const char *event_name;
	struct sampler_opts opts;
};

/*
 * libbpf's messages go to the debug log; its first warning is kept so that the one error line
 * the agent prints on failure can say what libbpf saw first (the cause, not the aftermath).
 */
static char libbpf_last_warning[512];

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char *line = NULL;
	const char *shown;
	int n;

	n = vasprintf(&line, fmt, ap);
	if (n < 0)
		return 0;
	while (n && (line[n - 1] == '\n' || line[n - 1] == ' '))
		line[--n] = 0;
	if (level == LIBBPF_WARN && !libbpf_last_warning[0] &&
	    !strstr(line, "-- BEGIN PROG LOAD LOG")) {
		size_t i, j = 0;

		for (i = 0; line[i] && j < sizeof(libbpf_last_warning) - 1; i++)
			libbpf_last_warning[j++] =
				(line[i] == '"' || line[i] == '\n') ? '\'' : line[i];
		libbpf_last_warning[j] = 0;
	}
	/* a verifier log can be megabytes: its verdict is at the end */
	shown = n > 4000 ? line + n - 4000 : line;
	log_debug("libbpf", "detail=\"%s%s\"", shown == line ? "" : "...", shown);
	free(line);
	return 0;
}

int parse_cpu_list(const char *s, bool *ret_cpus, int max)
{
	int count = 0;

	memset(ret_cpus, 0, (size_t)max * sizeof(bool));
	while (*s && *s != '\n') {
		char *end;
		long a = strtol(s, &end, 10), b;

		if (end == s || a < 0)
			return -EINVAL;
		b = a;
		s = end;
		if (*s == '-') {
			b = strtol(s + 1, &end, 10);
			if (end == s + 1 || b < a)
				return -EINVAL;
			s = end;
		}
		for (long c = a; c <= b && c < max; c++) {
			if (!ret_cpus[c])
				count++;
			ret_cpus[c] = true;
		}
		if (*s == ',')
			s++;
		else if (*s && *s != '\n')
			return -EINVAL;
	}
	return count;
}

int cgroup_id_of(const char *path, uint64_t *ret_id)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	*ret_id = st.st_ino;
	return 0;
}

static int handle_record(void *ctx, void *data, size_t size)
{
	struct sampler *s = ctx;

	return s->fn(s->ctx, data, size);
}

static uint64_t default_ring_bytes(uint32_t ncpus)
{
	uint64_t want = (uint64_t)ncpus * (512 << 10), size = 4 << 20;

	while (size < want && size < (256 << 20))
		size <<= 1;
	return size;
}

/*
 * Whether the kernel's sched_process_exit tracepoint carries group_dead (Linux 6.16 and later):
 * its BTF typedef btf_trace_sched_process_exit then takes (void *, task, bool). Decides which
 * exit program is loaded (bpf/sampler.bpf.c says why both exist).
 */
static bool exit_has_group_dead(const char *btf_path)
{
	struct btf *btf = btf_path ? btf__parse(btf_path, NULL) : btf__load_vmlinux_btf();
	const struct btf_type *t = NULL;
	bool ret = false;
	int id;

	if (!btf)
		return false; /* the older variant; loading says more if BTF is really missing */
	id = btf__find_by_name_kind(btf, "btf_trace_sched_process_exit", BTF_KIND_TYPEDEF);
	if (id > 0)
		t = btf__type_by_id(btf, btf__type_by_id(btf, id)->type);
	if (t && btf_is_ptr(t))
		t = btf__type_by_id(btf, t->type);
	if (t && btf_is_func_proto(t))
		ret = btf_vlen(t) >= 3;
	btf__free(btf);
	return ret;
}

struct sampler *sampler__new(const struct sampler_opts *opts, sampler_record_fn fn, void *ctx)
{
	struct sampler *s = NULL;
	int err, ncpus;
	uint8_t one = 1;

	libbpf_last_warning[0] = 0;
	libbpf_set_print(libbpf_log);
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	memcpy(&s->opts, opts, MIN(opts->sz ? opts->sz : sizeof(*opts), sizeof(s->opts)));
	s->fn = fn;
	s->ctx = ctx;

	ncpus = libbpf_num_possible_cpus();
	if (ncpus <= 0) {
		err = ncpus ? ncpus : -EINVAL;
		log_error("cannot count possible CPUs", "err=\"%s\"", strerror(-err));
		goto fail;
	}
	s->ncpus_possible = (uint32_t)ncpus;

	{
		LIBBPF_OPTS(bpf_object_open_opts, oo, .btf_custom_path = opts->btf_path);

		s->skel = sampler_bpf__open_opts(&oo);
	}
	if (!s->skel) {
		err = -errno;
		log_error("cannot open the BPF object", "err=\"%s\" libbpf=\"%s\"", strerror(-err),
			  libbpf_last_warning);
		goto fail;
	}
	s->skel->rodata->filter_pids = opts->npids > 0;
	s->skel->rodata->filter_cgroups = opts->ncgroup_ids > 0;
	s->skel->rodata->collect_fp_stack = opts->fp_stack;
	s->skel->rodata->stack_copy_max = MIN(opts->stack_copy_bytes, SONDE_STACK_COPY_MAX);
	s->skel->bss->sampling_paused = opts->start_paused;
	{
		uint64_t ring =
			opts->ring_bytes ? opts->ring_bytes : default_ring_bytes(s->ncpus_possible);

		s->skel->rodata->wakeup_bytes = ring / 4;
		bpf_map__set_max_entries(s->skel->maps.events, (uint32_t)ring);
	}
	bpf_map__set_max_entries(s->skel->maps.scratch, s->ncpus_possible);
	{
		bool group_dead = exit_has_group_dead(opts->btf_path);

		bpf_program__set_autoload(s->skel->progs.sonde_exit, !group_dead);
		bpf_program__set_autoload(s->skel->progs.sonde_exit_group_dead, group_dead);
		log_debug("process exit tracking", "group_dead_argument=%d", group_dead);
	}

	err = sampler_bpf__load(s->skel);
	if (err) {
		/* privileges were checked before: EACCES here is the verifier saying no */
		if (err <= -__LIBBPF_ERRNO__START) {
			char msg[128];

			libbpf_strerror(err, msg, sizeof(msg));
			log_error(opts->btf_path
					  ? "cannot use the kernel BTF given with --btf"
					  : "cannot prepare the BPF programs for this kernel",
				  "err=\"%s\" libbpf=\"%s\"", msg, libbpf_last_warning);
		} else if (err == -EPERM)
			log_error("permission denied loading BPF programs: run as root, or grant "
				  "CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH and "
				  "CAP_SYSLOG",
				  "err=\"%s\" libbpf=\"%s\"", strerror(-err), libbpf_last_warning);
		else
			log_error(
				"the kernel rejected the BPF programs (run with --log-level debug "
				"for the verifier log)",
				"err=\"%s\" libbpf=\"%s\"", strerror(-err), libbpf_last_warning);
		goto fail;
	}

	for (size_t i = 0; i < opts->npids; i++) {
		if (bpf_map__update_elem(s->skel->maps.pid_filter, &opts->pids[i], sizeof(uint32_t),
					 &one, sizeof(one), BPF_ANY)) {
			err = -errno;
			log_error("cannot set the pid filter", "pid=%u err=\"%s\"", opts->pids[i],
				  strerror(-err));
			goto fail;
		}
	}
	for (size_t i = 0; i < opts->ncgroup_ids; i++) {
		if (bpf_map__update_elem(s->skel->maps.cgroup_filter, &opts->cgroup_ids[i],
					 sizeof(uint64_t), &one, sizeof(one), BPF_ANY)) {
			err = -errno;
			log_error("cannot set the cgroup filter", "err=\"%s\"", strerror(-err));
			goto fail;
		}
	}

	s->rb = ring_buffer__new(bpf_map__fd(s->skel->maps.events), handle_record, s, NULL);
	if (!s->rb) {
		err = -errno;
		log_error("cannot map the ring buffer", "err=\"%s\"", strerror(-err));
		goto fail;
	}
	return s;
fail:
	sampler__free(s);
	errno = -err;
	return NULL;
}

void sampler__start(struct sampler *s)
{
	/* .bss is mapped into this process: the program sees the store at once */
	__atomic_store_n(&s->skel->bss->sampling_paused, false, __ATOMIC_RELEASE);
}

static int open_event(bool hardware, uint32_t freq, int cpu)
{
	struct perf_event_attr attr = {
		.size = sizeof(attr),
		.sample_type = 0,
		.disabled = 0,
	};
	int fd;

	if (hardware) {
		attr.type = PERF_TYPE_HARDWARE;
		attr.config = PERF_COUNT_HW_CPU_CYCLES;
		attr.freq = 1;
		attr.sample_freq = freq;
	} else {
		/* a fixed period in nanoseconds of CPU time: every sample is worth exactly 1/freq s
		 */
		attr.type = PERF_TYPE_SOFTWARE;
		attr.config = PERF_COUNT_SW_CPU_CLOCK;
		attr.sample_period = NSEC_PER_SEC / freq;
	}
	fd = (int)syscall(__NR_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int sampler__attach(struct sampler *s)
{
	bool online[MAX_CPUS];
	char *list = NULL;
	size_t len;
	int err, n;
	bool hw = s->opts.hardware_event;

	err = read_file(-1, "/sys/devices/system/cpu/online", 4096, &list, &len);
	if (err) {
		log_error("cannot read the online CPU list", "err=\"%s\"", strerror(-err));
		return err;
	}
	n = parse_cpu_list(list, online, MAX_CPUS);
	free(list);
	if (n <= 0) {
		log_error("cannot parse the online CPU list");
		return -EINVAL;
	}
	s->links = calloc((size_t)n, sizeof(*s->links));
	if (!s->links)
		return -ENOMEM;

	for (int cpu = 0; cpu < MAX_CPUS; cpu++) {
		struct bpf_link *link;
		int fd;

		if (!online[cpu])
			continue;
		fd = open_event(hw, s->opts.frequency, cpu);
		if (fd < 0 && hw &&
		    (fd == -ENOENT || fd == -EOPNOTSUPP || fd == -ENODEV || fd == -EINVAL)) {
			/* no PMU here (a VM): every CPU falls back to cpu-clock */
			log_info("no hardware cycles event, sampling with cpu-clock", "err=\"%s\"",
				 strerror(-fd));
			hw = false;
			fd = open_event(hw, s->opts.frequency, cpu);
		}
		if (fd < 0) {
			err = fd;
			if (err == -EACCES || err == -EPERM)
				log_error("permission denied opening perf events: run as root, or "
					  "grant CAP_PERFMON",
					  "cpu=%d err=\"%s\"", cpu, strerror(-err));
			else
				log_error("cannot open the sampling perf event",
					  "cpu=%d err=\"%s\"", cpu, strerror(-err));
			return err;
		}
		link = bpf_program__attach_perf_event(s->skel->progs.sonde_sample, fd);
		if (!link) {
			err = -errno;
			close(fd);
			log_error("cannot attach the sampling program", "cpu=%d err=\"%s\"", cpu,
				  strerror(-err));
			return err;
		}
		/* the link owns fd from here and closes it on destroy */
		s->links[s->nlinks++] = link;
	}
	s->event_name = hw ? "cycles" : "cpu-clock";

	{
		struct {
			struct bpf_program *prog;
			struct bpf_link **link;
			const char *tp;
		} tps[] = {
			{s->skel->progs.sonde_exec, &s->skel->links.sonde_exec,
			 "sched_process_exec"},
			{s->skel->progs.sonde_exit, &s->skel->links.sonde_exit,
			 "sched_process_exit"},
			{s->skel->progs.sonde_exit_group_dead,
			 &s->skel->links.sonde_exit_group_dead, "sched_process_exit"},
		};

		for (size_t i = 0; i < ARRAY_SIZE(tps); i++) {
			if (!bpf_program__autoload(tps[i].prog))
				continue; /* the variant this kernel does not use */
			*tps[i].link = bpf_program__attach(tps[i].prog);
			if (!*tps[i].link) {
				err = -errno;
				log_error("cannot attach a tracepoint", "tracepoint=%s err=\"%s\"",
					  tps[i].tp, strerror(-err));
				return err;
			}
		}
	}
	return 0;
}

int sampler__poll(struct sampler *s, int timeout_ms)
{
	int n = ring_buffer__poll(s->rb, timeout_ms), m;

	if (n < 0)
		return n;
	/* samples never wake us: consume whatever the timeout left in the buffer */
	m = ring_buffer__consume(s->rb);
	return m < 0 ? m : n + m;
}

int sampler__drain(struct sampler *s)
{
	return ring_buffer__consume(s->rb);
}

int sampler__stats(struct sampler *s, uint64_t ret_stats[SONDE_STAT_NR])
{
	uint64_t *vals = calloc(s->ncpus_possible, sizeof(uint64_t));
	int fd = bpf_map__fd(s->skel->maps.stats), err = 0;

	if (!vals)
		return -ENOMEM;
	for (uint32_t k = 0; k < SONDE_STAT_NR; k++) {
		ret_stats[k] = 0;
		if (bpf_map_lookup_elem(fd, &k, vals)) {
			err = -errno;
			break;
		}
		for (uint32_t c = 0; c < s->ncpus_possible; c++)
			ret_stats[k] += vals[c];
	}
	free(vals);
	return err;
}

int sampler__set_proc_cfg(struct sampler *s, uint32_t pid, const struct sonde_proc_cfg *cfg)
{
	if (bpf_map__update_elem(s->skel->maps.procs, &pid, sizeof(pid), cfg, sizeof(*cfg),
				 BPF_EXIST))
		return -errno;
	return 0;
}

const char *sampler__event_name(const struct sampler *s)
{
	return s->event_name ? s->event_name : "none";
}

uint32_t sampler__ncpus(const struct sampler *s)
{
	return s->nlinks;
}

int sampler__prog_stats(const struct sampler *s, uint64_t *ret_run_ns, uint64_t *ret_run_cnt)
{
	struct bpf_prog_info info = {};
	uint32_t len = sizeof(info);

	if (bpf_obj_get_info_by_fd(bpf_program__fd(s->skel->progs.sonde_sample), &info, &len))
		return -errno;
	*ret_run_ns = info.run_time_ns;
	*ret_run_cnt = info.run_cnt;
	return 0;
}

void sampler__free(struct sampler *s)
{
	if (!s)
		return;
	for (uint32_t i = 0; i < s->nlinks; i++)
		bpf_link__destroy(s->links[i]);
	free(s->links);
	ring_buffer__free(s->rb);
	sampler_bpf__destroy(s->skel);
	free(s);
}
