/*
 * The few Linux calls Node's fs lacks, for writing a root filesystem (src/host/native.ts is the
 * one module that loads this): mknodat(2) for device nodes and fifos, fsetxattr(2) and
 * setxattr(2) for extended attributes, writeFileAt, the create-write-own-stamp sequence of one
 * file in a single call (what a 200,000-file export spends its time on), copyFileAt, the same
 * with the content copied by the kernel from a range of another file (a layer file, a spill
 * file), and linkFd, which gives an unnamed (O_TMPFILE) file its name. Each is synchronous and throws an Error shaped
 * like Node's own fs errors (code, errno, syscall) when a call fails; a bad argument throws a
 * TypeError with code ERR_INVALID_ARG_TYPE or ERR_INVALID_ARG_VALUE, never an errno code
 * (which callers take for a filesystem's answer).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/sendfile.h>
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
#define LAYERFS_HOST_VERSION 6
#endif

/* writeFileAt's flags (WRITE_* in src/host/native.ts). */
#define WRITE_KEEP_OPEN 1 /* return the descriptor instead of closing it */
#define WRITE_OWNER_ONLY 2 /* stop after the owner: the caller sets xattrs, then mode and times */
#define WRITE_EXACT_MODE 4 /* create it with `mode` (the caller knows the umask keeps it whole): no fchmod */

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
 * removexattr(path, name): removexattr(2), following the path, for /proc/self/fd/N of an
 * O_PATH descriptor as setxattr above. ENODATA when the attribute is not there.
 */
static napi_value js_removexattr(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  ARGC(2, "removexattr(path, name)");
  char *path = string_arg(env, argv[0], false, NULL);
  if (path == NULL) return NULL;
  char *name = string_arg(env, argv[1], false, NULL);
  if (name == NULL) {
    free(path);
    return NULL;
  }
  int rc;
  RETRY(rc, removexattr(path, name));
  int err = errno;
  free(path);
  free(name);
  if (rc != 0) return throw_errno(env, err, "removexattr");
  return NULL;
}

/* Where a new file's content comes from: bytes in memory, or `length` bytes at `offset` of the file `fd`. */
struct content {
  const char *data;
  size_t size;
  int fd; /* -1: the bytes are `data` */
  int64_t offset;
  uint64_t length;
};

/*
 * Copies `length` bytes at `offset` of `in` to `out` at its file position (a new file: its
 * start), in the kernel: copy_file_range(2) where the two filesystems allow it (across
 * filesystems only of one type since Linux 5.19, else EXDEV), else sendfile(2) (a regular
 * file to a regular file since Linux 2.6.33), else pread(2) and write(2) through a buffer.
 * Each is given the offset, so `in`'s own file position never moves (a layer's descriptor is
 * shared by its readers). A call that copies nothing before the end is handed to the next way
 * (some filesystems answer copy_file_range with 0 instead of an error), so only pread's 0 says
 * that `in` ended. Returns the bytes copied (fewer than `length` only when `in` ended first),
 * or -1 with errno set and *failed naming the call.
 */
static int64_t copy_range(int in, int64_t offset, int out, uint64_t length, const char **failed) {
  uint64_t done = 0;
  int way = 0; /* 0 copy_file_range, 1 sendfile, 2 pread and write */
  char *buffer = NULL;
  while (done < length) {
    uint64_t left = length - done;
    size_t chunk = left > (1u << 30) ? (1u << 30) : (size_t)left;
    off_t from = (off_t)(offset + (int64_t)done);
    ssize_t n;
    if (way == 0) {
      n = copy_file_range(in, &from, out, NULL, chunk, 0);
      if (n > 0) { done += (uint64_t)n; continue; }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) { *failed = "copy_file_range"; break; }
      way = 1;
    } else if (way == 1) {
      n = sendfile(out, in, &from, chunk);
      if (n > 0) { done += (uint64_t)n; continue; }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno != EINVAL && errno != ENOSYS) { *failed = "sendfile"; break; }
      way = 2;
    } else {
      if (buffer == NULL && (buffer = malloc(1 << 20)) == NULL) { errno = ENOMEM; *failed = "malloc"; break; }
      n = pread(in, buffer, chunk < (1u << 20) ? chunk : (1u << 20), from);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) { *failed = "read"; break; }
      if (n == 0) break; /* `in` ended */
      for (ssize_t put = 0; put < n;) {
        ssize_t w = write(out, buffer + put, (size_t)(n - put));
        if (w > 0) put += w;
        else if (w == 0) { errno = EIO; *failed = "write"; break; }
        else if (errno != EINTR) { *failed = "write"; break; }
      }
      if (*failed != NULL) break;
      done += (uint64_t)n;
    }
  }
  int err = errno;
  free(buffer);
  errno = err;
  return *failed != NULL ? -1 : (int64_t)done;
}

/*
 * The body of writeFileAt and copyFileAt, once their arguments are read: opens a new file:
 * `name` with openat(dirfd, name, O_WRONLY|O_CREAT|O_EXCL|O_NOFOLLOW, 0600) (an existing
 * name, a symlink included, is EEXIST and never opened), or, when name is NULL, an unnamed
 * one in dirfd with O_TMPFILE (open(2); EOPNOTSUPP or EISDIR where the filesystem or kernel
 * has none), to be named by linkFd once complete; with WRITE_EXACT_MODE it is created with
 * `mode` (permission bits only: the caller has checked that the umask clears none of them and
 * that nothing is to be set after the create that needs another mode first) instead of 0600,
 * and not fchmod'ed. Then writes the content, fchown(uid, gid) when setOwner (uid and gid are
 * the full 32-bit ids), and unless WRITE_OWNER_ONLY fchmod(mode) and futimens (atime = mtime
 * = sec.nsec); closes it unless WRITE_KEEP_OPEN or
 * WRITE_OWNER_ONLY. The order matters: chown clears the set-id bits and security.capability
 * (chown(2)), so the mode and xattrs come after it, and the xattrs before the mode
 * (WRITE_OWNER_ONLY): user.* needs write permission on the file. On failure the descriptor
 * is closed (a named file stays: the caller removes it); a copy whose source ends early is
 * the error ERR_SOURCE_ENDED (no errno: the caller asks its source why).
 */
static napi_value write_file(napi_env env, int dirfd, const char *name, uint32_t mode, uint32_t uid, uint32_t gid, bool set_owner, int64_t sec, int64_t nsec, const struct content *content, uint32_t flags) {
  int fd;
  bool exact = (flags & WRITE_EXACT_MODE) != 0;
  mode_t create_mode = exact ? (mode_t)(mode & 0777) : 0600;
  if (name == NULL) {
    RETRY(fd, openat(dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, create_mode));
  } else {
    RETRY(fd, openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, create_mode));
  }
  if (fd < 0) return throw_errno(env, errno, "open");
  const char *failed = NULL;
  if (content->fd >= 0) {
    int64_t copied = copy_range(content->fd, content->offset, fd, content->length, &failed);
    if (failed == NULL && (uint64_t)copied < content->length) {
      close(fd);
      napi_throw_error(env, "ERR_SOURCE_ENDED", "layerfs_host: the file copied from ended before the length given");
      return NULL;
    }
  }
  for (size_t off = 0; off < content->size && failed == NULL;) {
    ssize_t n = write(fd, content->data + off, content->size - off);
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
  if (failed == NULL && !(flags & WRITE_OWNER_ONLY) && !exact) {
    RETRY(rc, fchmod(fd, mode));
    if (rc != 0) failed = "fchmod";
  }
  struct timespec times[2] = {{(time_t)sec, (long)nsec}, {(time_t)sec, (long)nsec}};
  if (failed == NULL && !(flags & WRITE_OWNER_ONLY)) {
    RETRY(rc, futimens(fd, times));
    if (rc != 0) failed = "futime";
  }
  if (failed != NULL) {
    int err = errno;
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

/* The arguments writeFileAt and copyFileAt share: dirfd, name, mode, uid, gid, setOwner, sec, nsec. */
struct file_args {
  int32_t dirfd;
  char *name; /* NULL: an unnamed file */
  uint32_t mode, uid, gid;
  bool set_owner;
  int64_t sec, nsec;
};

/* Reads argv[0..7] into `a`; false with an exception pending. */
static bool file_args(napi_env env, napi_value *argv, struct file_args *a) {
  bool name_is_null;
  if (napi_get_value_int32(env, argv[0], &a->dirfd) != napi_ok || napi_get_value_uint32(env, argv[2], &a->mode) != napi_ok ||
      napi_get_value_uint32(env, argv[3], &a->uid) != napi_ok || napi_get_value_uint32(env, argv[4], &a->gid) != napi_ok ||
      napi_get_value_bool(env, argv[5], &a->set_owner) != napi_ok || napi_get_value_int64(env, argv[6], &a->sec) != napi_ok ||
      napi_get_value_int64(env, argv[7], &a->nsec) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "layerfs_host: bad arguments");
    return false;
  }
  a->name = string_arg(env, argv[1], true, &name_is_null);
  return a->name != NULL || name_is_null;
}

/* write_file with the shared arguments argv[0..7] (file_args) and `content`. */
static napi_value write_file_from(napi_env env, napi_value *argv, const struct content *content, uint32_t flags) {
  struct file_args a;
  if (!file_args(env, argv, &a)) return NULL;
  napi_value result = write_file(env, a.dirfd, a.name, a.mode, a.uid, a.gid, a.set_owner, a.sec, a.nsec, content, flags);
  free(a.name);
  return result;
}

/*
 * writeFileAt(dirfd, name, mode, uid, gid, setOwner, sec, nsec, data, flags) -> fd or -1:
 * write_file with `data` (a Buffer, or null: none) as the content.
 */
static napi_value js_write_file_at(napi_env env, napi_callback_info info) {
  size_t argc = 10;
  napi_value argv[10];
  uint32_t flags;
  napi_valuetype data_type;
  struct content content = {NULL, 0, -1, 0, 0};
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  ARGC(10, "writeFileAt(dirfd, name, mode, uid, gid, setOwner, sec, nsec, data, flags)");
  CHECK(napi_typeof(env, argv[8], &data_type));
  if (data_type != napi_null) CHECK(napi_get_buffer_info(env, argv[8], (void **)&content.data, &content.size));
  CHECK(napi_get_value_uint32(env, argv[9], &flags));
  return write_file_from(env, argv, &content, flags);
}

/*
 * copyFileAt(dirfd, name, mode, uid, gid, setOwner, sec, nsec, srcFd, srcOffset, length, flags)
 * -> fd or -1: write_file with `length` bytes at `srcOffset` of the open file `srcFd` as the
 * content, copied by the kernel (copy_range).
 */
static napi_value js_copy_file_at(napi_env env, napi_callback_info info) {
  size_t argc = 12;
  napi_value argv[12];
  uint32_t flags;
  int32_t src_fd;
  int64_t src_offset, length;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  ARGC(12, "copyFileAt(dirfd, name, mode, uid, gid, setOwner, sec, nsec, srcFd, srcOffset, length, flags)");
  CHECK(napi_get_value_int32(env, argv[8], &src_fd));
  CHECK(napi_get_value_int64(env, argv[9], &src_offset));
  CHECK(napi_get_value_int64(env, argv[10], &length));
  CHECK(napi_get_value_uint32(env, argv[11], &flags));
  if (src_fd < 0 || src_offset < 0 || length < 0) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "layerfs_host: copyFileAt needs a descriptor, an offset and a length of 0 or more");
    return NULL;
  }
  struct content content = {NULL, 0, src_fd, src_offset, (uint64_t)length};
  return write_file_from(env, argv, &content, flags);
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

/*
 * xattrsOf(path): every extended attribute of what `path` leads to, following it (used on
 * /proc/self/fd/N of an O_PATH descriptor, as setxattr above): listxattr(2), then getxattr(2)
 * of each name, as [name, value, name, value, ...] Buffers (a name is bytes, not always UTF-8).
 * A list or value that grows between the size query and the read (ERANGE) is read again; a
 * name removed meanwhile (ENODATA) is left out.
 */
static napi_value js_xattrs_of(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  ARGC(1, "xattrsOf(path)");
  char *path = string_arg(env, argv[0], false, NULL);
  if (path == NULL) return NULL;
  char *list = NULL;
  ssize_t length;
  int err = 0;
  for (;;) {
    RETRY(length, listxattr(path, NULL, 0));
    if (length < 0) { err = errno; break; }
    char *grown = realloc(list, length > 0 ? (size_t)length : 1);
    if (grown == NULL) { err = ENOMEM; break; }
    list = grown;
    RETRY(length, listxattr(path, list, (size_t)length));
    if (length >= 0) break;
    if (errno != ERANGE) { err = errno; break; }
  }
  if (err != 0) {
    free(list);
    free(path);
    return throw_errno(env, err, "listxattr");
  }
  napi_value out;
  if (napi_create_array(env, &out) != napi_ok) { free(list); free(path); return NULL; }
  uint32_t slot = 0;
  for (ssize_t at = 0; at < length;) {
    const char *name = list + at;
    size_t name_length = strlen(name);
    at += (ssize_t)name_length + 1;
    void *value = NULL;
    ssize_t size;
    for (;;) {
      RETRY(size, getxattr(path, name, NULL, 0));
      if (size < 0) { err = errno; break; }
      void *grown = realloc(value, size > 0 ? (size_t)size : 1);
      if (grown == NULL) { err = ENOMEM; break; }
      value = grown;
      RETRY(size, getxattr(path, name, value, (size_t)size));
      if (size >= 0) break;
      if (errno != ERANGE) { err = errno; break; }
    }
    if (err == ENODATA) { err = 0; free(value); continue; }
    if (err != 0) { free(value); free(list); free(path); return throw_errno(env, err, "getxattr"); }
    napi_value name_buffer, value_buffer;
    napi_create_buffer_copy(env, name_length, name, NULL, &name_buffer);
    napi_create_buffer_copy(env, (size_t)size, value, NULL, &value_buffer);
    free(value);
    napi_set_element(env, out, slot++, name_buffer);
    napi_set_element(env, out, slot++, value_buffer);
  }
  free(list);
  free(path);
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value version;
  if (napi_create_uint32(env, LAYERFS_HOST_VERSION, &version) != napi_ok) return NULL;
  napi_property_descriptor props[] = {
    {"version", NULL, NULL, NULL, NULL, version, napi_enumerable, NULL},
    {"mknodat", NULL, js_mknodat, NULL, NULL, NULL, napi_enumerable, NULL},
    {"setxattr", NULL, js_setxattr, NULL, NULL, NULL, napi_enumerable, NULL},
    {"writeFileAt", NULL, js_write_file_at, NULL, NULL, NULL, napi_enumerable, NULL},
    {"copyFileAt", NULL, js_copy_file_at, NULL, NULL, NULL, napi_enumerable, NULL},
    {"linkFd", NULL, js_link_fd, NULL, NULL, NULL, napi_enumerable, NULL},
    {"xattrsOf", NULL, js_xattrs_of, NULL, NULL, NULL, napi_enumerable, NULL},
    {"removexattr", NULL, js_removexattr, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
