# openwrt-ppa build driver: the sequence of the OpenWrt project's gh-action-sdk, run by
# executors inside the SDK container as buildbot (uid 1000), in the SDK's work dir. It holds no
# secret. Inputs (validated by the service before they get here):
#   OPENWRT_PPA_FEED   the feed name of the repository's packages
#   OPENWRT_PPA_SRC    the read-only folder holding the repository
#   OPENWRT_PPA_UNITS  "dir:pkg1,pkg2 dir2:pkg3": package folders and the packages each makes
#   OPENWRT_PPA_EXTRA_FEEDS  extra feeds.conf lines
#   OPENWRT_PPA_JOBS   make -j
#   OPENWRT_PPA_PHASE  all (default) | fetch (setup, feeds, defconfig, download: needs the
#                      network) | build (check, compile: run with no network, on the workspace
#                      the fetch phase left)
#   OPENWRT_PPA_SDK    a read-only folder holding an SDK fetched once by setup.sh (optional)
#   OPENWRT_PPA_GITHUB_FEEDS  1: fetch the standard feeds from github.com/openwrt, as gh-action-sdk
#   OPENWRT_PPA_FEED_MIRROR  a read-only folder holding the service's verified copies of standard
#                      feeds (MIRROR/<name>, at the commits feeds.conf.default pins): each becomes
#                      a src-link instead of a clone, so feeds need no network
# Per-package progress goes to logs/openwrt-ppa-results.txt ("unit DIR start|ok|failed|skipped STEP",
# "unit DIR seconds N", "unit DIR reason TEXT", "job failed STEP"). The build could forge that
# file, but only about its own packages: what is published is decided from the package files.
set -u
R=logs/openwrt-ppa-results.txt
PHASE=${OPENWRT_PPA_PHASE:-all}
FEED=$OPENWRT_PPA_FEED
say() { printf '::openwrt-ppa:: %s\n' "$*"; }
res() { printf '%s\n' "$*" >> "$R"; }
jobfail() { res "job failed $1"; say "job step $1 failed"; exit 3; }
failed() { grep -q "^unit $1 \(failed\|skipped\)" "$R"; }
pkgs() { echo "${1#*:}" | tr ',' ' '; }
# step UNIT STEP [make args]: one make step and its status; the output of check is kept in LOG
step() {
	d=$1 s=$2; shift 2
	res "unit $d start $s"
	say "package $d $s"
	LOG=/dev/null
	if [ "$s" = check ]; then LOG=logs/openwrt-ppa-check.txt; fi
	# The status survives the pipe through a file: sh has no pipefail.
	{ make "package/$d/$s" "$@"; echo $? > logs/openwrt-ppa.rc; } 2>&1 | tee "$LOG"
	rc=$(cat logs/openwrt-ppa.rc 2>/dev/null || echo 1); rm -f logs/openwrt-ppa.rc
	if [ "$rc" != 0 ]; then res "unit $d failed $s"; say "package $d $s failed ($rc)"; return 1; fi
}

if [ "$PHASE" != build ]; then
	mkdir -p logs && : > "$R" || { echo "openwrt-ppa: cannot write $PWD/logs" >&2; exit 90; }
	# Release images carry the SDK and keep setup.sh, which would download it all again.
	if [ ! -d ./scripts ]; then
		if [ -n "${OPENWRT_PPA_SDK:-}" ] && [ -f "$OPENWRT_PPA_SDK/.openwrt-ppa-sdk" ]; then
			say "step sdk (fetched once, copied from the cache)"; cp -a "$OPENWRT_PPA_SDK/." . || jobfail sdk
			rm -f .openwrt-ppa-sdk
		elif [ -f setup.sh ]; then say "step setup"; ./setup.sh || jobfail setup
		else echo "openwrt-ppa: no SDK in $PWD and no setup.sh to fetch one" >&2; jobfail setup; fi
	fi
	say "step feeds"
	{
		if [ -f feeds.conf.default ]; then
			if [ "${OPENWRT_PPA_GITHUB_FEEDS:-}" = 1 ]; then
				sed -e 's,https://git.openwrt.org/feed/,https://github.com/openwrt/,' \
					-e 's,https://git.openwrt.org/openwrt/,https://github.com/openwrt/,' \
					-e 's,https://git.openwrt.org/project/,https://github.com/openwrt/,' feeds.conf.default
			else cat feeds.conf.default; fi | grep -v "^src-[a-z-]* $FEED " | while read -r kind name rest; do
				m=${OPENWRT_PPA_FEED_MIRROR:-}
				[ -n "$kind" ] || continue
				if [ -n "$m" ] && [ "${kind#src-git}" != "$kind" ] && [ -d "$m/$name" ]; then
					printf 'src-link %s %s\n' "$name" "$m/$name"
				else printf '%s %s %s\n' "$kind" "$name" "$rest"; fi
			done
		fi
		printf 'src-link %s %s\n' "$FEED" "$OPENWRT_PPA_SRC"
		if [ -n "${OPENWRT_PPA_EXTRA_FEEDS:-}" ]; then printf '%s\n' "$OPENWRT_PPA_EXTRA_FEEDS"; fi
	} > feeds.conf || jobfail feeds
	./scripts/feeds update -a || jobfail feeds-update
	for u in $OPENWRT_PPA_UNITS; do
		d=${u%%:*}
		say "package $d install"
		# shellcheck disable=SC2046
		./scripts/feeds install -p "$FEED" -f $(pkgs "$u") || { res "unit $d failed install"; continue; }
		# An unknown package or a Makefile that does not parse only warns: look for the result.
		[ -e "package/feeds/$FEED/$d/Makefile" ] && continue
		res "unit $d failed install"
		mkdir -p "logs/package/feeds/$FEED/$d"
		dump=$(find "logs/feeds/$FEED" -path "*/$d/dump.txt" 2>/dev/null | head -n 1)
		if [ -n "$dump" ]; then
			res "unit $d reason its Makefile does not parse (make DUMP=1 failed, ${dump#logs/})"
			cp "$dump" "logs/package/feeds/$FEED/$d/install.txt"
		else
			res "unit $d reason scripts/feeds install found none of its packages in the feed index"
		fi
	done
	say "step defconfig"
	make defconfig || jobfail defconfig
	for u in $OPENWRT_PPA_UNITS; do
		d=${u%%:*}
		if failed "$d"; then continue; fi
		sel=0
		for p in $(pkgs "$u"); do
			if grep -q "^CONFIG_PACKAGE_$p=[ym]" .config; then sel=1; fi
		done
		if [ "$sel" = 0 ]; then res "unit $d skipped defconfig"; say "package $d not selected by make defconfig"; continue; fi
		t0=$(date +%s)
		step "$d" download V=s BUILD_LOG=1
		res "unit $d seconds $(( $(date +%s) - t0 ))"
	done
	if [ "$PHASE" = fetch ]; then say "phase fetch done"; exit 0; fi
fi

[ -f "$R" ] || { echo "openwrt-ppa: the build phase found no results of the fetch phase" >&2; exit 90; }
for u in $OPENWRT_PPA_UNITS; do
	d=${u%%:*}
	if failed "$d"; then continue; fi
	t0=$(date +%s)
	ok=0
	if step "$d" check V=s BUILD_LOG=1; then
		# gh-action-sdk's test: make check only warns about a download that does not match its hash.
		bad=$(grep -m1 -E 'HASH does not match |HASH uses deprecated hash,|HASH is missing,' "$LOG")
		case "$bad" in
		*"HASH does not match "*)
			f=${bad#*HASH does not match }; f=${f%% *}
			res "unit $d failed check"; res "unit $d reason the download $f does not match its hash (${bad#*WARNING: })"
			say "package $d check failed: $f does not match its hash";;
		*)
			if [ -n "$bad" ]; then say "package $d: ${bad#*WARNING: }"; fi
			step "$d" compile -j"${OPENWRT_PPA_JOBS:-1}" V=s BUILD_LOG=1 CONFIG_AUTOREMOVE=y && ok=1;;
		esac
	fi
	rm -f logs/openwrt-ppa-check.txt
	prev=$(sed -n "s/^unit $d seconds //p" "$R" | tail -n 1)
	res "unit $d seconds $(( ${prev:-0} + $(date +%s) - t0 ))"
	if [ "$ok" = 1 ]; then res "unit $d ok compile"; fi
done
say "done"
