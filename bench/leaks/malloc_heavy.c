/* The malloc-heavy workload of bench/leaks: PAIRS malloc/free pairs of 16-4096 bytes
 * (sizes from a fixed pseudo-random sequence), each block touched once. WINDOW blocks are
 * live at a time: block i is freed WINDOW allocations later (1 = freed at once). A final
 * LEAK_KIB of 1 KiB blocks is left allocated so every tracer has something to report.
 *
 * With WAIT_MS it sleeps that long first (so a tracer can attach with -p) and prints the
 * time of the work itself on stderr as "work_s=SECONDS".
 *
 * usage: malloc_heavy [PAIRS (default 2000000)] [WINDOW (default 1)] [LEAK_KIB (default 64)]
 *                     [WAIT_MS (default 0)]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static unsigned long long rng = 88172645463325252ULL;

static unsigned int next_size(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return 16 + (unsigned int)(rng % (4096 - 16 + 1));
}

__attribute__((noinline)) static void *work_alloc(size_t n)
{
	char *p = malloc(n);
	if (p)
		p[0] = (char)n;
	return p;
}

__attribute__((noinline)) static void *leak_alloc(size_t n)
{
	char *p = malloc(n);
	if (p)
		memset(p, 1, n);
	return p;
}

int main(int argc, char **argv)
{
	long pairs = argc > 1 ? atol(argv[1]) : 2000000;
	long window = argc > 2 ? atol(argv[2]) : 1;
	long leak_kib = argc > 3 ? atol(argv[3]) : 64;
	long wait_ms = argc > 4 ? atol(argv[4]) : 0;
	void **live;
	unsigned long sum = 0;
	struct timespec t0, t1;

	if (wait_ms > 0)
		usleep((useconds_t)wait_ms * 1000);
	clock_gettime(CLOCK_MONOTONIC, &t0);

	if (window < 1)
		window = 1;
	live = calloc((size_t)window, sizeof(*live));
	if (!live)
		return 1;
	for (long i = 0; i < pairs; i++) {
		long slot = i % window;
		free(live[slot]);
		live[slot] = work_alloc(next_size());
		sum += (unsigned long)((char *)live[slot])[0];
	}
	for (long i = 0; i < window; i++)
		free(live[i]);
	free(live);
	for (long i = 0; i < leak_kib; i++)
		sum += leak_alloc(1024) != NULL;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (wait_ms > 0)
		fprintf(stderr, "work_s=%.6f\n",
			(double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	printf("%lu\n", sum);
	return 0;
}
