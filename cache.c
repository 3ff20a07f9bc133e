/* cache.c: earlytalker's pass cache (-c): one empty file a client that
 * passed, named by its address, its mtime the time of the pass. */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "io.h"

static const char *dir;		/* the cache directory */
static char *path;		/* this client's file, then a temporary one */

/*
 * The pass cache file of this client, dir/ADDR, with ADDR the address in
 * its canonical form: only an address that inet_pton() takes becomes a
 * file name, so no client can name another file.  0; or -1, with a
 * warning, if there is none: the client is served without the cache.
 */
static int
cache_name(char *out, size_t n, const char *ip)
{
	unsigned char bin[16];
	char canon[IP_TEXT];
	int af = strchr(ip, ':') != NULL ? AF_INET6 : AF_INET, k;

	if (inet_pton(af, ip, bin) != 1 ||
	    inet_ntop(af, bin, canon, sizeof canon) == NULL) {
		log_line("warning: unable to use pass cache %s: the "
		    "client's address %s is no IP address", dir, ip);
		return -1;
	}
	k = snprintf(out, n, "%s/%s", dir, canon);
	if (k < 0 || (size_t)k >= n) {	/* the name cut, the reason kept */
		log_line("warning: unable to use pass cache %.100s%s: %s",
		    dir, strlen(dir) > 100 ? "..." : "",
		    strerror(ENAMETOOLONG));
		return -1;
	}
	return 0;
}

/*
 * This client's file in the pass cache d, for cache_fresh() and
 * cache_pass(): its name and a temporary one on the heap, PATH_MAX each
 * (not a page of it for a waiting client without -c).  0; or -1, with a
 * warning, if there is none: the client is served without the cache.
 */
int
cache_find(const char *d, const char *ip)
{
	dir = d;
	path = malloc((size_t)2 * PATH_MAX);
	if (path == NULL) {
		log_line("warning: unable to use pass cache %s: out of memory",
		    dir);
		return -1;
	}
	return cache_name(path, PATH_MAX, ip);
}

/* Did this client pass within ttl_ms?  Its file's mtime says when. */
int
cache_fresh(unsigned long ttl_ms)
{
	struct stat st;
	time_t now = time(NULL);

	if (lstat(path, &st) == -1) {
		if (errno != ENOENT)
			log_line("warning: unable to read pass cache %s: %s",
			    path, strerror(errno));
		return 0;
	}
	/* in seconds: age * 1000 < ttl_ms, without its overflow where a
	 * long has 32 bits */
	return S_ISREG(st.st_mode) && st.st_mtime <= now &&
	    now - st.st_mtime < (time_t)((ttl_ms + 999) / 1000);
}

/*
 * A new empty file in the cache, its name (dir/.tmp.PID) into tmp,
 * PATH_MAX bytes.  Made with O_EXCL: whatever is in its place (a stale
 * one of a killed process with our pid, or a link planted in a directory
 * that others may write to) is unlinked, never followed or truncated.
 * 0, or -1 and errno.
 */
static int
cache_new(char *tmp)
{
	int fd, k;

	k = snprintf(tmp, PATH_MAX, "%s/.tmp.%ld", dir, (long)getpid());
	if (k < 0 || k >= PATH_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0644);
	if (fd == -1 && errno == EEXIST && unlink(tmp) == 0)
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0644);
	return fd == -1 ? -1 : close(fd);
}

/*
 * Record a pass: a new file, then rename() over the old one, so that
 * readers see a whole file and many writers never collide.  A failure
 * (full or read-only disk) costs a warning, nothing more.
 */
void
cache_pass(void)
{
	char *tmp = path + PATH_MAX;

	if (cache_new(tmp) == -1 || rename(tmp, path) == -1) {
		log_line("warning: unable to write pass cache %s: %s", path,
		    strerror(errno));
		(void)unlink(tmp);
	}
}

/* -n: can this user write the pass cache in d?  As cache_pass() writes
 * it.  0, or -1 with a fatal line. */
int
cache_check(const char *d)
{
	char tmp[PATH_MAX];
	struct stat st;

	dir = d;
	if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode))
		errno = ENOTDIR;
	else if (cache_new(tmp) == 0 && unlink(tmp) == 0)
		return 0;
	log_fatal("unable to write pass cache %s: %s", dir,
	    strerror(errno));
	return -1;
}
