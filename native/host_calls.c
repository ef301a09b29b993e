/*
 * The few Linux calls Node's fs lacks, for writing a root filesystem (src/host/native.ts is the
 * one module that loads this): mknodat(2) for device nodes and fifos, fsetxattr(2) and
 * setxattr(2) for extended attributes, and writeFileAt, the create-write-own-stamp sequence
 * of one file in a single call (what a 200,000-file export spends its time on). Each is
 * synchronous and throws an Error shaped like Node's own fs errors (code, errno, syscall)
 * when a call fails.
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

#define CHECK(call)                                                                 \
  do {                                                                              \
    if ((call) != napi_ok) {                                                        \
      napi_throw_error(env, "EINVAL", "layerfs_host: bad arguments (" #call ")");  \
      return NULL;                                                                  \
    }                                                                               \
  } while (0)

/* Throws { code: 'ENOSPC', errno: -28, syscall: 'fsetxattr', message } for the current errno. */
static napi_value throw_errno(napi_env env, const char *syscall) {
  int err = errno;
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

/* A JS string argument as a NUL-terminated C string (malloc'd; NULL with an exception pending). */
static char *string_arg(napi_env env, napi_value value) {
  size_t length;
  if (napi_get_value_string_utf8(env, value, NULL, 0, &length) != napi_ok) {
    napi_throw_type_error(env, "EINVAL", "layerfs_host: expected a string");
    return NULL;
  }
  char *s = malloc(length + 1);
  if (s == NULL) {
    napi_throw_error(env, "ENOMEM", "layerfs_host: out of memory");
    return NULL;
  }
  napi_get_value_string_utf8(env, value, s, length + 1, &length);
  if (strlen(s) != length) { /* an embedded NUL would shorten the name the kernel sees */
    free(s);
    napi_throw_type_error(env, "EINVAL", "layerfs_host: a name holds a NUL byte");
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
  if (argc != 5) return napi_throw_type_error(env, "EINVAL", "mknodat(dirfd, name, mode, major, minor)"), NULL;
  CHECK(napi_get_value_int32(env, argv[0], &dirfd));
  CHECK(napi_get_value_uint32(env, argv[2], &mode));
  CHECK(napi_get_value_uint32(env, argv[3], &major_number));
  CHECK(napi_get_value_uint32(env, argv[4], &minor_number));
  char *name = string_arg(env, argv[1]);
  if (name == NULL) return NULL;
  int rc = mknodat(dirfd, name, mode, makedev(major_number, minor_number));
  free(name);
  if (rc != 0) return throw_errno(env, "mknodat");
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
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 3) return napi_throw_type_error(env, "EINVAL", "setxattr(fd or path, name, value)"), NULL;
  CHECK(napi_typeof(env, argv[0], &target_type));
  CHECK(napi_get_buffer_info(env, argv[2], &data, &size));
  char *name = string_arg(env, argv[1]);
  if (name == NULL) return NULL;
  int rc;
  if (target_type == napi_number) {
    int32_t fd;
    if (napi_get_value_int32(env, argv[0], &fd) != napi_ok) return free(name), NULL;
    rc = fsetxattr(fd, name, data, size, 0);
  } else {
    char *path = string_arg(env, argv[0]);
    if (path == NULL) return free(name), NULL;
    rc = setxattr(path, name, data, size, 0);
    free(path);
  }
  free(name);
  if (rc != 0) return throw_errno(env, target_type == napi_number ? "fsetxattr" : "setxattr");
  return NULL;
}

/* Closes fd keeping errno (the error being reported is the earlier one). */
static void close_keep_errno(int fd) {
  int err = errno;
  close(fd);
  errno = err;
}

/*
 * writeFileAt(dirfd, name, mode, uid, gid, sec, nsec, data, keepOpen) -> fd or -1:
 * openat(dirfd, name, O_WRONLY|O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC, 0600) (an existing name,
 * a symlink included, is EEXIST and never opened), write all of data (null: none), fchown
 * (uid -1: not), fchmod(mode), futimens (atime = mtime = sec.nsec), then close unless keepOpen.
 * The order matters: chown clears the set-id bits, so the mode comes after it.
 */
static napi_value js_write_file_at(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9];
  int32_t dirfd, uid, gid;
  uint32_t mode;
  int64_t sec, nsec;
  bool keep_open;
  void *data = NULL;
  size_t size = 0;
  napi_valuetype data_type;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 9) return napi_throw_type_error(env, "EINVAL", "writeFileAt(dirfd, name, mode, uid, gid, sec, nsec, data, keepOpen)"), NULL;
  CHECK(napi_get_value_int32(env, argv[0], &dirfd));
  CHECK(napi_get_value_uint32(env, argv[2], &mode));
  CHECK(napi_get_value_int32(env, argv[3], &uid));
  CHECK(napi_get_value_int32(env, argv[4], &gid));
  CHECK(napi_get_value_int64(env, argv[5], &sec));
  CHECK(napi_get_value_int64(env, argv[6], &nsec));
  CHECK(napi_typeof(env, argv[7], &data_type));
  if (data_type != napi_null) CHECK(napi_get_buffer_info(env, argv[7], &data, &size));
  CHECK(napi_get_value_bool(env, argv[8], &keep_open));
  char *name = string_arg(env, argv[1]);
  if (name == NULL) return NULL;
  int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  free(name);
  if (fd < 0) return throw_errno(env, "open");
  const char *failed = NULL;
  for (size_t off = 0; off < size && failed == NULL;) {
    ssize_t n = write(fd, (const char *)data + off, size - off);
    if (n < 0 && errno != EINTR) failed = "write";
    else if (n > 0) off += (size_t)n;
  }
  if (failed == NULL && uid >= 0 && fchown(fd, (uid_t)uid, (gid_t)gid) != 0) failed = "fchown";
  if (failed == NULL && fchmod(fd, mode) != 0) failed = "fchmod";
  struct timespec times[2] = {{(time_t)sec, (long)nsec}, {(time_t)sec, (long)nsec}};
  if (failed == NULL && futimens(fd, times) != 0) failed = "futime";
  if (failed != NULL) {
    close_keep_errno(fd);
    return throw_errno(env, failed);
  }
  if (!keep_open) {
    if (close(fd) != 0) return throw_errno(env, "close");
    fd = -1;
  }
  napi_value result;
  CHECK(napi_create_int32(env, fd, &result));
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"mknodat", NULL, js_mknodat, NULL, NULL, NULL, napi_enumerable, NULL},
    {"setxattr", NULL, js_setxattr, NULL, NULL, NULL, napi_enumerable, NULL},
    {"writeFileAt", NULL, js_write_file_at, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
