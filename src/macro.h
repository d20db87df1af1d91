/*
 * macro.h: small helpers shared by every module: cleanup attributes,
 * ownership hand-over and array sizes.  No module state lives here.
 */
#ifndef MTLSD_MACRO_H
#define MTLSD_MACRO_H

#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f)	__attribute__((cleanup(f)))
#define _unused_	__attribute__((unused))
#define _printf_(a, b)	__attribute__((format(printf, a, b)))
#define _noreturn_	__attribute__((noreturn))

#define ELEMENTSOF(x)	(sizeof(x) / sizeof((x)[0]))

/* Hand ownership of a pointer to the caller; the local becomes NULL. */
#define TAKE_PTR(p) ({ __typeof__(p) take_ptr_ = (p); (p) = NULL; take_ptr_; })
#define TAKE_FD(fd) ({ int take_fd_ = (fd); (fd) = -1; take_fd_; })

/* Define type##_freep() for use with _cleanup_(); fn must accept its pointer. */
#define DEFINE_FREEP(type, fn) \
	static inline void fn##p(type **p) { if (*p != NULL) fn(*p); }

static inline void
freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline void
closep(int *fd)
{
	if (*fd >= 0)
		(void)close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

#endif
