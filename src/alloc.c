/* alloc.c: see alloc.h. */
#include "autoconf.h"

#ifdef HAVE_JEMALLOC
#include <stdio.h>
#include <jemalloc/jemalloc.h>
#else
#include <malloc.h>
#include <stdlib.h>
#endif

#include "alloc.h"

#ifdef HAVE_JEMALLOC

const char *
alloc_name(void)
{
	static char name[64];
	const char *v = NULL;
	size_t len = sizeof(v);

	if (mallctl("version", &v, &len, NULL, 0) != 0 || v == NULL)
		v = "?";
	snprintf(name, sizeof(name), "jemalloc %s", v);
	return name;
}

void
alloc_settle(void)
{
	/* jemalloc's bins hold no list threaded through the heap. */
}

void
alloc_release_free(void)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "arena.%u.purge", (unsigned)MALLCTL_ARENAS_ALL);
	(void)mallctl(cmd, NULL, NULL, NULL, 0);
}

#else

const char *
alloc_name(void)
{
	return "glibc";
}

void
alloc_release_free(void)
{
	(void)malloc_trim(0);
}

void
alloc_settle(void)
{
	/*
	 * A request of the large-bin sizes (over 1 KiB, under the mmap
	 * threshold) makes glibc merge every fast-bin chunk and sort the
	 * unsorted list before it looks for a chunk.  volatile: the compiler
	 * would drop a malloc whose result is only freed.
	 */
	void *volatile p = malloc(4096);

	free(p);
}

#endif
