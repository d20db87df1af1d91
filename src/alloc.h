/*
 * alloc.h: which malloc mtlsd runs on, and giving free memory back.
 *
 * `./configure --with-jemalloc` links jemalloc in place of glibc's malloc
 * (doc/performance.md: fewer copy-on-write pages per forked worker).
 */
#pragma once

/* "glibc" or "jemalloc X.Y.Z". */
const char *alloc_name(void);

/*
 * Return every whole page of free heap memory to the kernel.  A worker
 * calls it after freeing the other connections' state it inherited: a page
 * it keeps but does not use becomes its private copy as soon as the
 * handshake process writes to it.
 */
void alloc_release_free(void);
