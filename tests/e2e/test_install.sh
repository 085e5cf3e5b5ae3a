#!/bin/bash
# make install lays out the binaries, a default configuration (kept when already there) and
# the systemd units; the units pass systemd-analyze verify and the default configs parse.
. "$(dirname "$0")/../lib.sh"
need_cmd systemd-analyze
art=$(realpath "$ARTIFACTS")

# a package-style install under DESTDIR
root=$art/root
make -s install DESTDIR="$root" PREFIX=/usr/local BUILD="$BUILD" > "$art/install.log" 2>&1 ||
	fail "make install failed: $(tail -3 "$art/install.log")"
for f in usr/local/bin/sonde-agent usr/local/bin/sonde-collector usr/local/bin/sonde \
	etc/sonde/agent.yaml etc/sonde/collector.yaml etc/sonde/agent.env etc/sonde/collector.env \
	usr/local/lib/systemd/system/sonde-agent.service usr/local/lib/systemd/system/sonde-collector.service \
	usr/local/share/doc/sonde/README.md usr/local/share/doc/sonde/collector.md; do
	[ -e "$root/$f" ] || fail "make install did not install /$f"
done
check '[ "$(stat -c %a "$root/etc/sonde/collector.env")" = 600 ]' "the env files (secrets) are mode 600"
check 'grep -q "^ExecStart=/usr/local/bin/sonde-agent --config /etc/sonde/agent.yaml" "$root/usr/local/lib/systemd/system/sonde-agent.service"' \
	"the units name the installed paths"
echo "# edited by hand" >> "$root/etc/sonde/agent.yaml"
make -s install DESTDIR="$root" PREFIX=/usr/local BUILD="$BUILD" > /dev/null 2>&1 || fail "a second make install failed"
check 'grep -q "edited by hand" "$root/etc/sonde/agent.yaml"' "a second install keeps an edited configuration"

# an install whose paths exist, for systemd-analyze to check the units against
p=$art/prefix
make -s install PREFIX="$p" SYSCONFDIR="$p/etc" BUILD="$BUILD" > /dev/null 2>&1 || fail "make install PREFIX=... failed"
SYSTEMD_LOG_LEVEL=notice systemd-analyze verify "$p/lib/systemd/system/sonde-agent.service" \
	"$p/lib/systemd/system/sonde-collector.service" > "$art/verify.log" 2>&1 ||
	fail "systemd-analyze verify: $(cat "$art/verify.log")"
if [ -s "$art/verify.log" ]; then
	cat "$art/verify.log" >&2
	fail "systemd-analyze verify has complaints"
fi
log "ok: systemd-analyze verify passes on both units"
# the default configurations are valid (the config is read before --version is acted on)
"$p/bin/sonde-collector" --config "$p/etc/sonde/collector.yaml" --version > /dev/null ||
	fail "the default collector.yaml does not parse"
"$p/bin/sonde-agent" --config "$p/etc/sonde/agent.yaml" --version > /dev/null ||
	fail "the default agent.yaml does not parse"
log "ok: the default configurations parse"
