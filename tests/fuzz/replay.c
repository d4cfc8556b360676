/*
 * replay.c - run a fuzz target without libFuzzer: feed every file of the
 * given directories (or single files) to LLVMFuzzerTestOneInput() once.
 *
 * "make check" builds one replay_<target> per fuzz target with the normal
 * compiler and runs it with no arguments, which means the committed seed
 * corpus tests/fuzz/corpus/<target>/ and the crash reproducers in
 * tests/fuzz/regress/<target>/ (the source tree is found through
 * $TOP_SRCDIR, set by the test harness, else the path compiled in).  A
 * crash, sanitizer report or failed property aborts the program and fails
 * the test.  Files whose names start with '.' or "README" are skipped.
 *
 *   replay_cdb                 the committed inputs
 *   replay_cdb dir|file ...    the given ones (e.g. a libFuzzer crash-*)
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

#ifndef FUZZ_NAME
#error "FUZZ_NAME (the target name) must be defined"
#endif
#ifndef FUZZ_DIR
#define FUZZ_DIR "tests/fuzz"
#endif

#define REPLAY_MAX_INPUT	(16u << 20)

static unsigned int replay_n;

static int
replay_file(const char *path)
{
	struct stat st;
	uint8_t *buf;
	ssize_t n;
	size_t off = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if ((size_t)st.st_size > REPLAY_MAX_INPUT) {
		fprintf(stderr, "replay: %s: too large\n", path);
		close(fd);
		return -1;
	}
	/* Exactly the input's size, so ASan sees reads past its end. */
	buf = malloc(st.st_size != 0 ? (size_t)st.st_size : 1);
	if (buf == NULL) {
		close(fd);
		return -1;
	}
	while (off < (size_t)st.st_size) {
		n = read(fd, buf + off, (size_t)st.st_size - off);
		if (n <= 0) {
			fprintf(stderr, "replay: %s: short read\n", path);
			free(buf);
			close(fd);
			return -1;
		}
		off += (size_t)n;
	}
	close(fd);
	if (getenv("REPLAY_VERBOSE") != NULL)
		fprintf(stderr, "replay: %s (%zu bytes)\n", path, off);
	LLVMFuzzerTestOneInput(buf, off);
	free(buf);
	replay_n++;
	return 0;
}

static int
replay_skip(const struct dirent *d)
{
	return d->d_name[0] != '.' && strncmp(d->d_name, "README", 6) != 0;
}

/* Every regular file of dir, in name order.  A missing directory is fine
 * when optional (no regressions recorded yet). */
static int
replay_dir(const char *dir, bool optional)
{
	struct dirent **ents;
	char path[4096];
	struct stat st;
	int i, n, rc = 0;

	n = scandir(dir, &ents, replay_skip, alphasort);
	if (n < 0) {
		if (optional && errno == ENOENT)
			return 0;
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
		if (rc == 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode))
			rc = replay_file(path);
		free(ents[i]);
	}
	free(ents);
	return rc;
}

static int
replay_arg(const char *arg)
{
	struct stat st;

	if (stat(arg, &st) != 0) {
		fprintf(stderr, "replay: %s: %s\n", arg, strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode))
		return replay_dir(arg, false);
	return replay_file(arg);
}

int
main(int argc, char **argv)
{
	const char *top = getenv("TOP_SRCDIR");
	char corpus[4096], regress[4096];
	int i;

	if (argc > 1) {
		for (i = 1; i < argc; i++) {
			if (replay_arg(argv[i]) != 0)
				return 1;
		}
		printf("replay %s: %u inputs\n", FUZZ_NAME, replay_n);
		return 0;
	}
	if (top != NULL && *top != '\0') {
		snprintf(corpus, sizeof(corpus), "%s/tests/fuzz/corpus/%s",
		    top, FUZZ_NAME);
		snprintf(regress, sizeof(regress), "%s/tests/fuzz/regress/%s",
		    top, FUZZ_NAME);
	} else {
		snprintf(corpus, sizeof(corpus), "%s/corpus/%s", FUZZ_DIR,
		    FUZZ_NAME);
		snprintf(regress, sizeof(regress), "%s/regress/%s", FUZZ_DIR,
		    FUZZ_NAME);
	}
	if (replay_dir(corpus, false) != 0 || replay_dir(regress, true) != 0)
		return 1;
	if (replay_n == 0) {
		fprintf(stderr, "replay %s: no inputs in %s\n", FUZZ_NAME,
		    corpus);
		return 1;
	}
	printf("replay %s: %u inputs\n", FUZZ_NAME, replay_n);
	return 0;
}
