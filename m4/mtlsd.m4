dnl MTLSD_CHECK_CFLAGS([FLAGS]): append each flag the compiler accepts to MTLSD_CFLAGS.
AC_DEFUN([MTLSD_CHECK_CFLAGS], [
	for mtlsd_flag in $1; do
		AC_MSG_CHECKING([whether $CC accepts $mtlsd_flag])
		mtlsd_saved_cflags="$CFLAGS"
		CFLAGS="$CFLAGS -Werror $mtlsd_flag"
		AC_COMPILE_IFELSE([AC_LANG_PROGRAM([], [])],
			[AC_MSG_RESULT([yes]); MTLSD_CFLAGS="$MTLSD_CFLAGS $mtlsd_flag"],
			[AC_MSG_RESULT([no])])
		CFLAGS="$mtlsd_saved_cflags"
	done
])
dnl MTLSD_CHECK_LDFLAGS([FLAGS]): append each flag the linker accepts to MTLSD_LDFLAGS.
AC_DEFUN([MTLSD_CHECK_LDFLAGS], [
	for mtlsd_flag in $1; do
		AC_MSG_CHECKING([whether the linker accepts $mtlsd_flag])
		mtlsd_saved_ldflags="$LDFLAGS"
		LDFLAGS="$LDFLAGS $mtlsd_flag"
		AC_LINK_IFELSE([AC_LANG_PROGRAM([], [])],
			[AC_MSG_RESULT([yes]); MTLSD_LDFLAGS="$MTLSD_LDFLAGS $mtlsd_flag"],
			[AC_MSG_RESULT([no])])
		LDFLAGS="$mtlsd_saved_ldflags"
	done
])
