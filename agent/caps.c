// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "caps.h"
#include "../common/util.h"

static const char *const cap_names[] = {
	"chown",
	"dac_override",
	"dac_read_search",
	"fowner",
	"fsetid",
	"kill",
	"setgid",
	"setuid",
	"setpcap",
	"linux_immutable",
	"net_bind_service",
	"net_broadcast",
	"net_admin",
	"net_raw",
	"ipc_lock",
	"ipc_owner",
	"sys_module",
	"sys_rawio",
	"sys_chroot",
	"sys_ptrace",
	"sys_pacct",
	"sys_admin",
	"sys_boot",
	"sys_nice",
	"sys_resource",
	"sys_time",
	"sys_tty_config",
	"mknod",
	"lease",
	"audit_write",
	"audit_control",
	"setfcap",
	"mac_override",
	"mac_admin",
	"syslog",
	"wake_alarm",
	"block_suspend",
	"audit_read",
	"perfmon",
	"bpf",
	"checkpoint_restore",
};

static uint64_t status_field(const char *status, const char *name)
{
	const char *p = strstr(status, name);

	return p ? strtoull(p + strlen(name), NULL, 16) : 0;
}

int caps_read(struct caps *ret)
{
	char *status = NULL;
	size_t len;
	int err = read_file(-1, "/proc/thread-self/status", 1 << 16, &status, &len);

	if (err)
		return err;
	ret->inheritable = status_field(status, "CapInh:");
	ret->permitted = status_field(status, "CapPrm:");
	ret->effective = status_field(status, "CapEff:");
	ret->bounding = status_field(status, "CapBnd:");
	free(status);
	return 0;
}

static int capset3(uint64_t effective, uint64_t permitted, uint64_t inheritable)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[2];

	for (int i = 0; i < 2; i++) {
		data[i].effective = (uint32_t)(effective >> (32 * i));
		data[i].permitted = (uint32_t)(permitted >> (32 * i));
		data[i].inheritable = (uint32_t)(inheritable >> (32 * i));
	}
	return syscall(SYS_capset, &hdr, data) < 0 ? -errno : 0;
}

int caps_set_effective(uint64_t effective)
{
	struct caps c;
	int err = caps_read(&c);

	if (err)
		return err;
	return capset3(effective & c.permitted, c.permitted, c.inheritable);
}

int caps_drop(uint64_t keep)
{
	struct caps c;
	int err = caps_read(&c);

	if (err)
		return err;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -errno;
	/* the bounding set needs CAP_SETPCAP, so it goes first; without it no_new_privs guards */
	if (c.permitted & CAPS_BIT(CAPS_SETPCAP)) {
		err = capset3(c.permitted, c.permitted, c.inheritable);
		if (err)
			return err;
		/* the kernel's bounding set holds no capability it does not know */
		for (int cap = 0; cap < 64; cap++) {
			if ((keep & CAPS_BIT(cap)) || !(c.bounding & CAPS_BIT(cap)))
				continue;
			if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
				return -errno;
		}
	}
	keep &= c.permitted;
	return capset3(keep, keep, 0);
}

const char *caps_names(uint64_t set, char *out, size_t size)
{
	size_t n = 0;

	out[0] = 0;
	for (int cap = 0; cap < 64 && n < size; cap++) {
		if (!(set & CAPS_BIT(cap)))
			continue;
		if (cap < (int)ARRAY_SIZE(cap_names))
			n += (size_t)snprintf(out + n, size - n, "%s%s", n ? "," : "",
					      cap_names[cap]);
		else
			n += (size_t)snprintf(out + n, size - n, "%scap_%d", n ? "," : "", cap);
	}
	if (!out[0])
		str_copy(out, "none", size);
	return out;
}
