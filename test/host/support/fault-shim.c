/*
 * An LD_PRELOAD library for test/host/native.test.ts: it makes libc calls the native addon
 * makes misbehave in ways the kernel allows but rarely shows, each only for a magic argument
 * so Node's own calls pass through untouched:
 *   write() of exactly 7777 bytes returns 0 (no progress, no error);
 *   the first fchown() to gid 4242 fails with EINTR (a signal arrived first);
 *   after a failed mknodat() of permission bits 0421, the next free() sets errno to ENOTTY
 *   (free may change errno: it is not one of the functions POSIX.1-2008 says keep it);
 *   copy_file_range() of 7778 bytes copies nothing and says so with 0 (as some filesystems
 *   answer instead of an error), and sendfile() of 7778 bytes fails with EINVAL (a file it
 *   cannot splice from): the copy must go on with pread and write;
 *   the first copy_file_range() of 7779 bytes fails with EINTR.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

extern void __libc_free(void *);
static int clobber_next_free;

ssize_t write(int fd, const void *buf, size_t count) {
  static ssize_t (*real)(int, const void *, size_t);
  if (real == NULL) real = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
  if (count == 7777) return 0;
  return real(fd, buf, count);
}

int fchown(int fd, uid_t uid, gid_t gid) {
  static int (*real)(int, uid_t, gid_t);
  static int interrupted;
  if (real == NULL) real = (int (*)(int, uid_t, gid_t))dlsym(RTLD_NEXT, "fchown");
  if (gid == 4242 && !interrupted) {
    interrupted = 1;
    errno = EINTR;
    return -1;
  }
  return real(fd, uid, gid);
}

int mknodat(int dirfd, const char *path, mode_t mode, dev_t dev) {
  static int (*real)(int, const char *, mode_t, dev_t);
  if (real == NULL) real = (int (*)(int, const char *, mode_t, dev_t))dlsym(RTLD_NEXT, "mknodat");
  int rc = real(dirfd, path, mode, dev);
  if (rc != 0 && (mode & 0777) == 0421) clobber_next_free = 1;
  return rc;
}

void free(void *p) {
  __libc_free(p);
  if (clobber_next_free) {
    clobber_next_free = 0;
    errno = ENOTTY;
  }
}

ssize_t copy_file_range(int in, off_t *off_in, int out, off_t *off_out, size_t len, unsigned int flags) {
  static ssize_t (*real)(int, off_t *, int, off_t *, size_t, unsigned int);
  static int interrupted;
  if (real == NULL) real = (ssize_t (*)(int, off_t *, int, off_t *, size_t, unsigned int))dlsym(RTLD_NEXT, "copy_file_range");
  if (len == 7778) return 0;
  if (len == 7779 && !interrupted) {
    interrupted = 1;
    errno = EINTR;
    return -1;
  }
  return real(in, off_in, out, off_out, len, flags);
}

ssize_t sendfile(int out, int in, off_t *offset, size_t count) {
  static ssize_t (*real)(int, int, off_t *, size_t);
  if (real == NULL) real = (ssize_t (*)(int, int, off_t *, size_t))dlsym(RTLD_NEXT, "sendfile");
  if (count == 7778) {
    errno = EINVAL;
    return -1;
  }
  return real(out, in, offset, count);
}
