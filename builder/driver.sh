# openwrt-ppa build driver: the sequence of the OpenWrt project's gh-action-sdk, run by
# executors inside the SDK container as buildbot (uid 1000), in the SDK's work dir. It holds no
# secret. Inputs (validated by the service before they get here):
#   OPENWRT_PPA_FEED   the feed name of the repository's packages
#   OPENWRT_PPA_SRC    the read-only folder holding the repository
#   OPENWRT_PPA_UNITS  "dir:pkg1,pkg2 dir2:pkg3": package folders and the packages each makes
#   OPENWRT_PPA_EXTRA_FEEDS  extra feeds.conf lines
#   OPENWRT_PPA_JOBS   make -j
# Per-package progress goes to logs/openwrt-ppa-results.txt ("unit DIR start|ok|failed|skipped STEP",
# "unit DIR seconds N", "job failed STEP"). The build could forge that file, but only about its own packages: what is
# published is decided from the package files themselves.
set -u
R=logs/openwrt-ppa-results.txt
mkdir -p logs && : > "$R" || { echo "openwrt-ppa: cannot write $PWD/logs" >&2; exit 90; }
say() { printf '::openwrt-ppa:: %s\n' "$*"; }
res() { printf '%s\n' "$*" >> "$R"; }
jobfail() { res "job failed $1"; say "job step $1 failed"; exit 3; }

if [ -f setup.sh ]; then say "step setup"; ./setup.sh || jobfail setup; fi
say "step feeds"
{
	if [ -f feeds.conf.default ]; then grep -v "^src-[a-z-]* $OPENWRT_PPA_FEED " feeds.conf.default; fi
	printf 'src-link %s %s\n' "$OPENWRT_PPA_FEED" "$OPENWRT_PPA_SRC"
	if [ -n "${OPENWRT_PPA_EXTRA_FEEDS:-}" ]; then printf '%s\n' "$OPENWRT_PPA_EXTRA_FEEDS"; fi
} > feeds.conf || jobfail feeds
./scripts/feeds update -a || jobfail feeds-update
for u in $OPENWRT_PPA_UNITS; do
	d=${u%%:*}
	say "package $d install"
	# shellcheck disable=SC2046
	./scripts/feeds install -p "$OPENWRT_PPA_FEED" -f $(echo "${u#*:}" | tr ',' ' ') || res "unit $d failed install"
done
say "step defconfig"
make defconfig || jobfail defconfig
for u in $OPENWRT_PPA_UNITS; do
	d=${u%%:*}
	if grep -q "^unit $d failed" "$R"; then continue; fi
	sel=0
	for p in $(echo "${u#*:}" | tr ',' ' '); do
		if grep -q "^CONFIG_PACKAGE_$p=[ym]" .config; then sel=1; fi
	done
	if [ "$sel" = 0 ]; then res "unit $d skipped defconfig"; say "package $d not selected by make defconfig"; continue; fi
	ok=1
	t0=$(date +%s)
	for step in download check compile; do
		res "unit $d start $step"
		say "package $d $step"
		if [ "$step" = compile ]; then
			make "package/$d/compile" -j"${OPENWRT_PPA_JOBS:-1}" V=s BUILD_LOG=1 CONFIG_AUTOREMOVE=y
		else
			make "package/$d/$step" V=s BUILD_LOG=1
		fi
		rc=$?
		if [ "$rc" != 0 ]; then res "unit $d failed $step"; say "package $d $step failed ($rc)"; ok=0; break; fi
	done
	res "unit $d seconds $(( $(date +%s) - t0 ))"
	if [ "$ok" = 1 ]; then res "unit $d ok compile"; fi
done
say "done"
