#!/bin/sh
# Run the whole test suite (make check) in this build tree and end with
# one summary line "N passed, N failed, N skipped".  Exit 0 only when
# nothing failed.  Usage: tests/check.sh [BUILDDIR]   (default: .)
set -u
builddir=${1:-.}
cd "$builddir" || exit 99
[ -f Makefile ] || { echo "check.sh: no Makefile in $builddir: run ./configure && make first" >&2; exit 99; }
make -j2 check
status=$?
pass=0 fail=0 skip=0
for trs in $(find . -name '*.trs'); do
	case $(sed -n 's/^:test-result: //p' "$trs" | head -n1) in
	PASS|XFAIL) pass=$((pass + 1)) ;;
	SKIP) skip=$((skip + 1)) ;;
	*) fail=$((fail + 1)) ;;
	esac
done
for log in $(find . -name '*.log' ! -name 'test-suite.log' ! -name 'config.log'); do
	case $(sed -n 's/^:test-result: //p' "${log%.log}.trs" 2>/dev/null | head -n1) in
	FAIL|ERROR) echo "==== $log"; tail -n 40 "$log" ;;
	esac
done
[ $status -eq 0 ] || [ $fail -gt 0 ] || fail=1
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
