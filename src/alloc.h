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

/*
 * Put the heap's free lists in order right before a fork: a worker's first
 * large allocation would otherwise merge the (often over a thousand) small
 * chunks glibc keeps in its fast bins and sort its unsorted list, writing
 * to pages all over a heap it shares with its parent, each write a page
 * copied.  Done here, in the parent, the work is done once and on pages
 * the parent mostly owns already.
 */
void alloc_settle(void);
