/*
 * The durable-delivery floor for benches/e2e.sh: how fast this file system
 * takes messages into a Maildir-like tmp/ -> new/ layout with nothing else
 * in the way (no network, no parsing), in the ways a server could make
 * them durable.
 *
 *   floor DIR SIZE COUNT THREADS MODE...
 *
 * DIR must exist; each mode works in DIR/floor.MODE/{tmp,new} and removes
 * it afterwards. Every message is SIZE octets, written with one write().
 * Modes (GROUP is a number of messages):
 *
 *   probe        the server's start-up probe: median of 9 times
 *                (write 1 octet, fsync the file, fsync new/), in us
 *   serial       per message: create in tmp/, write, fsync, close,
 *                rename into new/, fsync new/
 *   threads      the same from THREADS threads at once (their fsyncs meet
 *                in the journal's commits)
 *   syncfs:GROUP per group: create, write, close, rename each message,
 *                then one syncfs() for the group
 *   syncfs2:GROUP per group: create, write, close each, syncfs(), rename
 *                each, syncfs() (new/ never names a file whose data is
 *                not on disk, even after a crash)
 *   fsyncs:GROUP per group: create and write each (one thread), fsync all
 *                of them from THREADS threads at once (the journal commits
 *                them together), close and rename each, fsync new/
 *   nosync       create, write, close, rename; no fsync at all
 *
 * For each mode it prints one line
 *
 *   floor MODE GROUP THREADS COUNT SECONDS MESSAGES_PER_S
 *
 * (GROUP 1 for serial, threads and nosync), after checking that new/
 * holds exactly COUNT files and tmp/ none. The time covers the deliveries
 * only; the files are then removed and the file system synced, so that
 * one mode's clean-up does not fall on the next.
 *
 * Any failing call ends the program with a message and status 1.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *base;
static size_t size;
static long count;
static int nthreads;
static char *message;

static void die(const char *what, const char *arg)
{
	fprintf(stderr, "floor: %s %s: %s\n", what, arg ? arg : "",
		strerror(errno));
	exit(1);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The directories of one mode. */
struct box {
	char root[4096];
	int tmp;
	int new;
};

static void box_open(struct box *b, const char *mode)
{
	char path[4200];
	snprintf(b->root, sizeof b->root, "%s/floor.%s", base, mode);
	for (char *p = b->root + strlen(base) + 1; *p; p++)
		if (*p == ':')
			*p = '-';
	if (mkdir(b->root, 0700) != 0)
		die("mkdir", b->root);
	snprintf(path, sizeof path, "%s/tmp", b->root);
	if (mkdir(path, 0700) != 0)
		die("mkdir", path);
	if ((b->tmp = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		die("open", path);
	snprintf(path, sizeof path, "%s/new", b->root);
	if (mkdir(path, 0700) != 0)
		die("mkdir", path);
	if ((b->new = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		die("open", path);
	/* Start from a clean journal: the directories are on disk. */
	if (syncfs(b->new) != 0)
		die("syncfs", b->root);
}

/* Removes every file in one of the box's directories; returns how many. */
static long empty_dir(int dirfd, const char *what)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		die("open", what);
	DIR *d = fdopendir(fd);
	if (!d)
		die("fdopendir", what);
	long n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (unlinkat(dirfd, e->d_name, 0) != 0)
			die("unlink", e->d_name);
		n++;
	}
	closedir(d);
	return n;
}

/* Checks the outcome, removes everything, syncs. */
static void box_close(struct box *b, const char *mode)
{
	char path[4200];
	long in_new = empty_dir(b->new, "new");
	long in_tmp = empty_dir(b->tmp, "tmp");
	if (in_new != count || in_tmp != 0) {
		fprintf(stderr,
			"floor: %s: expected %ld files in new/ and none in tmp/, found %ld and %ld\n",
			mode, count, in_new, in_tmp);
		exit(1);
	}
	if (syncfs(b->new) != 0)
		die("syncfs", b->root);
	close(b->tmp);
	close(b->new);
	snprintf(path, sizeof path, "%s/tmp", b->root);
	if (rmdir(path) != 0)
		die("rmdir", path);
	snprintf(path, sizeof path, "%s/new", b->root);
	if (rmdir(path) != 0)
		die("rmdir", path);
	if (rmdir(b->root) != 0)
		die("rmdir", b->root);
}

static void name(char *buf, size_t len, int thread, long i)
{
	snprintf(buf, len, "floor.T%dN%ld", thread, i);
}

static void write_all(int fd, const char *what)
{
	size_t done = 0;
	while (done < size) {
		ssize_t n = write(fd, message + done, size - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("write", what);
		}
		done += (size_t)n;
	}
}

static int create(struct box *b, const char *n)
{
	int fd = openat(b->tmp, n, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			0600);
	if (fd < 0)
		die("create", n);
	write_all(fd, n);
	return fd;
}

static void move(struct box *b, const char *n)
{
	if (renameat(b->tmp, n, b->new, n) != 0)
		die("rename", n);
}

/* serial and threads: each message on its own. */
struct serial_job {
	struct box *b;
	int thread;
	long from;
	long to;
};

static void *serial_run(void *arg)
{
	struct serial_job *j = arg;
	char n[128];
	for (long i = j->from; i < j->to; i++) {
		name(n, sizeof n, j->thread, i);
		int fd = create(j->b, n);
		if (fsync(fd) != 0)
			die("fsync", n);
		close(fd);
		move(j->b, n);
		if (fsync(j->b->new) != 0)
			die("fsync", "new/");
	}
	return NULL;
}

static void run_serial(struct box *b, int threads)
{
	pthread_t tid[threads];
	struct serial_job jobs[threads];
	for (int t = 0; t < threads; t++) {
		jobs[t] = (struct serial_job){
			b, t, count * t / threads, count * (t + 1) / threads
		};
		if (threads == 1) {
			serial_run(&jobs[0]);
			return;
		}
		if (pthread_create(&tid[t], NULL, serial_run, &jobs[t]) != 0)
			die("pthread_create", NULL);
	}
	for (int t = 0; t < threads; t++)
		pthread_join(tid[t], NULL);
}

static void run_syncfs(struct box *b, long group, int twice)
{
	char n[128];
	for (long start = 0; start < count; start += group) {
		long end = start + group < count ? start + group : count;
		for (long i = start; i < end; i++) {
			name(n, sizeof n, 0, i);
			close(create(b, n));
			if (!twice)
				move(b, n);
		}
		if (twice) {
			if (syncfs(b->new) != 0)
				die("syncfs", b->root);
			for (long i = start; i < end; i++) {
				name(n, sizeof n, 0, i);
				move(b, n);
			}
		}
		if (syncfs(b->new) != 0)
			die("syncfs", b->root);
	}
}

/* fsyncs: a pool of threads fsyncs the group's files at once. */
static pthread_barrier_t group_ready, group_synced;
static int *group_fds;
static long group_len;
static int pool_stop;

static void *fsync_worker(void *arg)
{
	long t = (long)arg;
	for (;;) {
		pthread_barrier_wait(&group_ready);
		if (pool_stop)
			return NULL;
		for (long i = t; i < group_len; i += nthreads)
			if (fsync(group_fds[i]) != 0)
				die("fsync", "group file");
		pthread_barrier_wait(&group_synced);
	}
}

static void run_fsyncs(struct box *b, long group)
{
	char n[128];
	pthread_t tid[nthreads];
	group_fds = calloc((size_t)group, sizeof *group_fds);
	if (!group_fds)
		die("calloc", NULL);
	pool_stop = 0;
	pthread_barrier_init(&group_ready, NULL, (unsigned)nthreads + 1);
	pthread_barrier_init(&group_synced, NULL, (unsigned)nthreads + 1);
	for (long t = 0; t < nthreads; t++)
		if (pthread_create(&tid[t], NULL, fsync_worker, (void *)t) != 0)
			die("pthread_create", NULL);
	for (long start = 0; start < count; start += group) {
		long end = start + group < count ? start + group : count;
		group_len = end - start;
		for (long i = start; i < end; i++) {
			name(n, sizeof n, 0, i);
			group_fds[i - start] = create(b, n);
		}
		pthread_barrier_wait(&group_ready);
		pthread_barrier_wait(&group_synced);
		for (long i = start; i < end; i++) {
			name(n, sizeof n, 0, i);
			close(group_fds[i - start]);
			move(b, n);
		}
		if (fsync(b->new) != 0)
			die("fsync", "new/");
	}
	pool_stop = 1;
	pthread_barrier_wait(&group_ready);
	for (int t = 0; t < nthreads; t++)
		pthread_join(tid[t], NULL);
	pthread_barrier_destroy(&group_ready);
	pthread_barrier_destroy(&group_synced);
	free(group_fds);
}

static void run_nosync(struct box *b)
{
	char n[128];
	for (long i = 0; i < count; i++) {
		name(n, sizeof n, 0, i);
		close(create(b, n));
		move(b, n);
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* As the example server's Maildir::sync_cost. */
static void probe(void)
{
	struct box b;
	double t[9];
	box_open(&b, "probe");
	int fd = create(&b, "probe");
	for (int i = 0; i < 9; i++) {
		if (write(fd, "x", 1) != 1)
			die("write", "probe");
		double start = now();
		if (fsync(fd) != 0 || fsync(b.new) != 0)
			die("fsync", "probe");
		t[i] = now() - start;
	}
	close(fd);
	if (unlinkat(b.tmp, "probe", 0) != 0)
		die("unlink", "probe");
	qsort(t, 9, sizeof t[0], cmp_double);
	long saved = count;
	count = 0;
	box_close(&b, "probe");
	count = saved;
	printf("probe fsync_us %.1f\n", t[4] * 1e6);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr,
			"usage: floor DIR SIZE COUNT THREADS MODE...\n"
			"modes: probe serial threads syncfs:N syncfs2:N fsyncs:N nosync\n");
		return 2;
	}
	base = argv[1];
	size = strtoul(argv[2], NULL, 10);
	count = strtol(argv[3], NULL, 10);
	nthreads = atoi(argv[4]);
	if (size == 0 || count <= 0 || nthreads <= 0) {
		fprintf(stderr, "floor: SIZE, COUNT and THREADS must be positive\n");
		return 2;
	}
	message = malloc(size);
	if (!message)
		die("malloc", NULL);
	/* Lines of 78 octets and CRLF, as a message on disk. */
	for (size_t i = 0; i < size; i++)
		message[i] = i % 80 == 78 ? '\r' : i % 80 == 79 ? '\n' : 'x';

	for (int a = 5; a < argc; a++) {
		const char *mode = argv[a];
		if (strcmp(mode, "probe") == 0) {
			probe();
			continue;
		}
		long group = 1;
		int threads = 1;
		const char *colon = strchr(mode, ':');
		if (colon) {
			group = strtol(colon + 1, NULL, 10);
			if (group <= 0) {
				fprintf(stderr, "floor: bad group in %s\n", mode);
				return 2;
			}
		}
		struct box b;
		double start, secs;
		if (strcmp(mode, "serial") == 0) {
			box_open(&b, mode);
			start = now();
			run_serial(&b, 1);
		} else if (strcmp(mode, "threads") == 0) {
			threads = nthreads;
			box_open(&b, mode);
			start = now();
			run_serial(&b, nthreads);
		} else if (strncmp(mode, "syncfs:", 7) == 0) {
			box_open(&b, mode);
			start = now();
			run_syncfs(&b, group, 0);
		} else if (strncmp(mode, "syncfs2:", 8) == 0) {
			box_open(&b, mode);
			start = now();
			run_syncfs(&b, group, 1);
		} else if (strncmp(mode, "fsyncs:", 7) == 0) {
			threads = nthreads;
			box_open(&b, mode);
			start = now();
			run_fsyncs(&b, group);
		} else if (strcmp(mode, "nosync") == 0) {
			box_open(&b, mode);
			start = now();
			run_nosync(&b);
		} else {
			fprintf(stderr, "floor: unknown mode %s\n", mode);
			return 2;
		}
		secs = now() - start;
		box_close(&b, mode);
		char kind[32];
		snprintf(kind, sizeof kind, "%.*s", (int)(colon ? colon - mode : (long)strlen(mode)), mode);
		printf("floor %s %ld %d %ld %.3f %.0f\n", kind, group, threads,
		       count, secs, count / secs);
		fflush(stdout);
	}
	return 0;
}
