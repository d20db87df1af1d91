/*
 * clock.h: the one clock every deadline uses: CLOCK_MONOTONIC in
 * milliseconds (wall-clock jumps never fire or delay a timeout).
 */
#ifndef MTLSD_CLOCK_H
#define MTLSD_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

#endif
