/*
 * The few Linux calls Node's fs lacks, for writing a root filesystem (src/host/native.ts is the
 * one module that loads this): mknodat(2) for device nodes and fifos, fsetxattr(2) and
 * setxattr(2) for extended attributes, writeFileAt, the create-write-own-stamp sequence of one
 * file in a single call (what a 200,000-file export spends its time on), and linkFd, which
 * gives an unnamed (O_TMPFILE) file its name. Each is synchronous and throws an Error shaped
 * like Node's own fs errors (code, errno, syscall) when a call fails; a bad argument throws a
 * TypeError with code ERR_INVALID_ARG_TYPE or ERR_INVALID_ARG_VALUE, never an errno code
 * (which callers take for a filesystem's answer).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>
#include <node_api.h>
#include <uv.h>

/*
 * The interface version src/host/native.ts expects (HOST_CALLS_VERSION there): bumped with
 * every change of a call's arguments or behaviour, so a native/build left from an older
 * checkout is refused at load instead of being called with the wrong arguments.
 */
#ifndef LAYERFS_HOST_VERSION
#define LAYERFS_HOST_VERSION 5
#endif

/* writeFileAt's flags (WRITE_* in src/host/native.ts). */
#define WRITE_KEEP_OPEN 1 /* return the descriptor instead of closing it */
#define WRITE_OWNER_ONLY 2 /* stop after the owner: the caller sets xattrs, then mode and times */

/* Retries a call interrupted by a signal (EINTR) before it did anything. */
#define RETRY(result, call) \
  do {                      \
    (result) = (call);      \
  } while ((result) == -1 && errno == EINTR)

#define CHECK(call)                                                                                 \
  do {                                                                                              \
    if ((call) != napi_ok) {                                                                        \
      napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "layerfs_host: bad arguments (" #call ")"); \
      return NULL;                                                                                  \
    }                                                                                               \
  } while (0)

#define ARGC(expected, usage)                                                      \
  do {                                                                             \
    if (argc != (expected)) {                                                      \
      napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "layerfs_host: " usage); \
      return NULL;                                                                 \
    }                                                                              \
  } while (0)

/* Throws { code: 'ENOSPC', errno: -28, syscall: 'fsetxattr', message } for errno `err`. */
static napi_value throw_errno(napi_env env, int err, const char *syscall) {
  const char *code = uv_err_name(uv_translate_sys_error(err));
  char message[256];
  snprintf(message, sizeof message, "%s: %s, %s", code, strerror(err), syscall);
  napi_value msg, code_value, errno_value, syscall_value, error;
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &code_value);
  napi_create_int32(env, -err, &errno_value);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &syscall_value);
  napi_create_error(env, code_value, msg, &error);
  napi_set_named_property(env, error, "errno", errno_value);
  napi_set_named_property(env, error, "syscall", syscall_value);
  napi_throw(env, error);
  return NULL;
}

/*
 * A JS string argument as a NUL-terminated C string (malloc'd; NULL with an exception
 * pending). With `nullable`, a JS null is allowed: *is_null is set and NULL returned with no
 * exception.
 */
static char *string_arg(napi_env env, napi_value value, bool nullable, bool *is_null) {
  if (nullable) {
    napi_valuetype type;
    if (napi_typeof(env, value, &type) == napi_ok && type == napi_null) {
      *is_null = true;
      return NULL;
    }
    *is_null = false;
  }
  size_t length;
  if (napi_get_value_string_utf8(env, value, NULL, 0, &length) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "layerfs_host: expected a string");
    return NULL;
  }
  char *s = malloc(length + 1);
  if (s == NULL) {
    napi_throw_error(env, "ERR_MEMORY_ALLOCATION_FAILED", "layerfs_host: out of memory");
    return NULL;
  }
  napi_get_value_string_utf8(env, value, s, length + 1, &length);
  if (strlen(s) != length) { /* an embedded NUL would shorten the name the kernel sees */
    free(s);
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "layerfs_host: a name holds a NUL byte");
    return NULL;
  }
  return s;
}

/* mknodat(dirfd, name, mode, major, minor): mode carries the file type (S_IFCHR, S_IFBLK, S_IFIFO). */
static napi_value js_mknodat(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  int32_t dirfd;
  uint32_t mode, major_number, minor_number;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  ARGC(5, "mknodat(dirfd, name, mode, major, minor)");
  CHECK(napi_get_value_int32(env, argv[0], &dirfd));
  CHECK(napi_get_value_uint32(env, argv[2], &mode));
  CHECK(napi_get_value_uint32(env, argv[3], &major_number));
  CHECK(napi_get_value_uint32(env, argv[4], &minor_number));
  char *name = string_arg(env, argv[1], false, NULL);
  if (name == NULL) return NULL;
  int rc;
  RETRY(rc, mknodat(dirfd, name, mode, makedev(major_number, minor_number)));
  int err = errno;
  free(name);
  if (rc != 0) return throw_errno(env, err, "mknodat");
  return NULL;
}

/*
 * setxattr(target, name, value): fsetxattr(2) when target is a descriptor; setxattr(2),
 * following the path, when it is a path: used on /proc/self/fd/N of an O_PATH descriptor,
 * whose magic link leads to the inode itself (a symlink included: the walk ends on the inode
 * the descriptor holds, see proc(5) /proc/pid/fd).
 */
static napi_value js_setxattr(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_valuetype target_type;
  void *data;
  size_t size;
  int32_t fd = -1;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  ARGC(3, "setxattr(fd or path, name, value)");
  CHECK(napi_typeof(env, argv[0], &target_type));
  if (target_type == napi_number) CHECK(napi_get_value_int32(env, argv[0], &fd));
  CHECK(napi_get_buffer_info(env, argv[2], &data, &size));
  char *name = string_arg(env, argv[1], false, NULL);
  if (name == NULL) return NULL;
  int rc, err;
  if (target_type == napi_number) {
    RETRY(rc, fsetxattr(fd, name, data, size, 0));
    err = errno;
  } else {
    char *path = string_arg(env, argv[0], false, NULL);
    if (path == NULL) {
      free(name);
      return NULL; /* string_arg threw */
    }
    RETRY(rc, setxattr(path, name, data, size, 0));
    err = errno;
    free(path);
  }
  free(name);
  if (rc != 0) return throw_errno(env, err, target_type == napi_number ? "fsetxattr" : "setxattr");
  return NULL;
}

/*
 * writeFileAt(dirfd, name, mode, uid, gid, setOwner, sec, nsec, data, flags) -> fd or -1:
 * opens a new file: `name` with openat(dirfd, name, O_WRONLY|O_CREAT|O_EXCL|O_NOFOLLOW, 0600)
 * (an existing name, a symlink included, is EEXIST and never opened), or, when name is null,
 * an unnamed one in dirfd with O_TMPFILE (open(2); EOPNOTSUPP or EISDIR where the
 * filesystem or kernel has none), to be named by linkFd once complete. Then writes all of
 * data (null: none), fchown(uid, gid) when setOwner (uid and gid are the full 32-bit ids),
 * and unless WRITE_OWNER_ONLY fchmod(mode) and futimens (atime = mtime = sec.nsec); closes it
 * unless WRITE_KEEP_OPEN or WRITE_OWNER_ONLY. The order matters: chown clears the set-id
 * bits and security.capability (chown(2)), so the mode and xattrs come after it, and the
 * xattrs before the mode (WRITE_OWNER_ONLY): user.* needs write permission on the file. On failure the descriptor is closed (a named file
 * stays: the caller removes it).
 */
static napi_value js_write_file_at(napi_env env, napi_callback_info info) {
  size_t argc = 10;
  napi_value argv[10];
  int32_t dirfd;
  uint32_t mode, uid, gid, flags;
  int64_t sec, nsec;
  bool set_owner, name_is_null;
  void *data = NULL;
  size_t size = 0;
  napi_valuetype data_type;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  ARGC(10, "writeFileAt(dirfd, name, mode, uid, gid, setOwner, sec, nsec, data, flags)");
  CHECK(napi_get_value_int32(env, argv[0], &dirfd));
  CHECK(napi_get_value_uint32(env, argv[2], &mode));
  CHECK(napi_get_value_uint32(env, argv[3], &uid));
  CHECK(napi_get_value_uint32(env, argv[4], &gid));
  CHECK(napi_get_value_bool(env, argv[5], &set_owner));
  CHECK(napi_get_value_int64(env, argv[6], &sec));
  CHECK(napi_get_value_int64(env, argv[7], &nsec));
  CHECK(napi_typeof(env, argv[8], &data_type));
  if (data_type != napi_null) CHECK(napi_get_buffer_info(env, argv[8], &data, &size));
  CHECK(napi_get_value_uint32(env, argv[9], &flags));
  char *name = string_arg(env, argv[1], true, &name_is_null);
  if (name == NULL && !name_is_null) return NULL;
  int fd;
  if (name_is_null) {
    RETRY(fd, openat(dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600));
  } else {
    RETRY(fd, openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  }
  int err = errno;
  free(name);
  if (fd < 0) return throw_errno(env, err, "open");
  const char *failed = NULL;
  for (size_t off = 0; off < size && failed == NULL;) {
    ssize_t n = write(fd, (const char *)data + off, size - off);
    if (n > 0) {
      off += (size_t)n;
    } else if (n == 0) {
      /* write(2) of a non-zero count to a regular file writes something or fails; 0 would loop. */
      errno = EIO;
      failed = "write";
    } else if (errno != EINTR) {
      failed = "write";
    }
  }
  int rc = 0;
  if (failed == NULL && set_owner) {
    RETRY(rc, fchown(fd, (uid_t)uid, (gid_t)gid));
    if (rc != 0) failed = "fchown";
  }
  if (failed == NULL && !(flags & WRITE_OWNER_ONLY)) {
    RETRY(rc, fchmod(fd, mode));
    if (rc != 0) failed = "fchmod";
  }
  struct timespec times[2] = {{(time_t)sec, (long)nsec}, {(time_t)sec, (long)nsec}};
  if (failed == NULL && !(flags & WRITE_OWNER_ONLY)) {
    RETRY(rc, futimens(fd, times));
    if (rc != 0) failed = "futime";
  }
  if (failed != NULL) {
    err = errno;
    close(fd);
    return throw_errno(env, err, failed);
  }
  if (!(flags & (WRITE_KEEP_OPEN | WRITE_OWNER_ONLY))) {
    /* close(2) is not retried on EINTR: on Linux the descriptor is released either way. */
    if (close(fd) != 0) return throw_errno(env, errno, "close");
    fd = -1;
  }
  napi_value result;
  CHECK(napi_create_int32(env, fd, &result));
  return result;
}

/*
 * linkFd(fd, dirfd, name): gives the file open as fd the name `name` in dirfd with
 * linkat(AT_FDCWD, "/proc/self/fd/<fd>", dirfd, name, AT_SYMLINK_FOLLOW), the form open(2)
 * documents for naming an O_TMPFILE file (the magic link is followed to the open file itself;
 * Node's link(2) does not follow it). An existing name, a symlink included, is EEXIST.
 */
static napi_value js_link_fd(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t fd, dirfd;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  ARGC(3, "linkFd(fd, dirfd, name)");
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  CHECK(napi_get_value_int32(env, argv[1], &dirfd));
  char *name = string_arg(env, argv[2], false, NULL);
  if (name == NULL) return NULL;
  char from[64];
  snprintf(from, sizeof from, "/proc/self/fd/%d", (int)fd);
  int rc;
  RETRY(rc, linkat(AT_FDCWD, from, dirfd, name, AT_SYMLINK_FOLLOW));
  int err = errno;
  free(name);
  if (rc != 0) return throw_errno(env, err, "link");
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value version;
  if (napi_create_uint32(env, LAYERFS_HOST_VERSION, &version) != napi_ok) return NULL;
  napi_property_descriptor props[] = {
    {"version", NULL, NULL, NULL, NULL, version, napi_enumerable, NULL},
    {"mknodat", NULL, js_mknodat, NULL, NULL, NULL, napi_enumerable, NULL},
    {"setxattr", NULL, js_setxattr, NULL, NULL, NULL, napi_enumerable, NULL},
    {"writeFileAt", NULL, js_write_file_at, NULL, NULL, NULL, napi_enumerable, NULL},
    {"linkFd", NULL, js_link_fd, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
