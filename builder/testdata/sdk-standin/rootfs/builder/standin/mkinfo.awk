# Stand-in Makefile reader (test fixture). awk -v mode=M [-v pkg=P -v field=F -v name=N] -f mkinfo.awk Makefile
#   mode=packages          names of the packages the Makefile builds
#   mode=var name=N        the expanded value of variable N
#   mode=field pkg=P field=F   F (TITLE, DEPENDS, SECTION…) of define Package/P
#   mode=install pkg=P     the lines of define Package/P/install, variables expanded except $(1)
#   mode=markers           the words after "# STANDIN:"
#   mode=define name=N     the raw lines of define N ("$$" made "$"), for control scripts
#   mode=error             what "make DUMP=1" would fail with: a top-level $(error ...), as
#                          "Makefile:<line>: *** <text>.  Stop."; nothing when it parses
function repl(s, from, to,    out, i) {
	out = ""
	while ((i = index(s, from)) > 0) { out = out substr(s, 1, i - 1) to; s = substr(s, i + length(from)) }
	return out s
}
function expand(s,    n, k, before) {
	for (n = 0; n < 8 && index(s, "$") > 0; n++) {
		before = s
		s = repl(s, "$(notdir $(CURDIR))", dirbase); s = repl(s, "$(notdir ${CURDIR})", dirbase)
		for (k in v) { s = repl(s, "$(" k ")", v[k]); s = repl(s, "${" k "}", v[k]) }
		if (s == before) break
	}
	return s
}
function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); return s }
BEGIN { dirbase = ""; indef = ""; cont = "" }
FNR == 1 { d = FILENAME; sub(/\/[^\/]*$/, "", d); dirbase = d; sub(/.*\//, "", dirbase); v["CURDIR"] = d }
{
	line = $0
	if (cont != "") { line = cont " " line; cont = "" }
	if (line ~ /\\$/) { cont = substr(line, 1, length(line) - 1); next }
	t = trim(line)
	if (t ~ /^# *STANDIN:/) { m = t; sub(/^# *STANDIN: */, "", m); markers = markers m "\n"; next }
	if (indef != "") {
		if (t == "endef") { indef = ""; next }
		if (mode == "define" && indef == name) { s = $0; gsub(/\$\$/, "$", s); print s }
		if (mode == "install" && indef == "Package/" pkg "/install") {
			s = t; s = repl(s, "$(1)", "@DEST@"); print expand(s)
		}
		if (mode == "field" && indef == "Package/" pkg && t ~ "^" field "[ \t]*[:+]?=") {
			val = t; sub("^" field "[ \t]*[:+]?=[ \t]*", "", val); fields = trim(fields " " expand(val))
		}
		next
	}
	if (t ~ /^define[ \t]/) { indef = expand(trim(substr(t, 7))); next }
	if (t ~ /^\$\(error[ \t]/ && err == "") { e = t; sub(/^\$\(error[ \t]+/, "", e); sub(/\)[ \t]*$/, "", e); err = "Makefile:" FNR ": *** " expand(e) ".  Stop." }
	if (t ~ /\$\(eval \$\(call BuildPackage,/) {
		a = t; sub(/.*\$\(eval \$\(call BuildPackage,/, "", a); sub(/\)\)[ \t]*$/, "", a); sub(/,.*/, "", a)
		pk[++npk] = a; next
	}
	if (t ~ /luci\.mk/) { luci = 1 }
	if (t ~ /^[A-Za-z0-9_]+[ \t]*(:=|\?=|\+=|=)/) {
		k = t; sub(/[ \t]*(:=|\?=|\+=|=).*/, "", k)
		val = t; sub(/^[A-Za-z0-9_]+[ \t]*/, "", val); op = val; sub(/=.*/, "=", op); sub(/^(:=|\?=|\+=|=)[ \t]*/, "", val)
		if (op == "?=" && (k in v)) next
		if (op == "+=" && (k in v)) { v[k] = v[k] " " val; next }
		v[k] = (op == ":=") ? expand(val) : val
	}
}
END {
	if (luci && !("PKG_NAME" in v)) v["PKG_NAME"] = dirbase
	if (mode == "packages") { for (i = 1; i <= npk; i++) print expand(pk[i]); if (npk == 0 && luci) print expand(v["PKG_NAME"]) }
	else if (mode == "var") print expand(v[name])
	else if (mode == "field") print fields
	else if (mode == "markers") printf "%s", markers
	else if (mode == "error" && err != "") print err
}
