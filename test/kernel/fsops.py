#!/usr/bin/env python3
"""Filesystem operations for the kernel overlay tests that Node's fs cannot do.

  fsops.py apply FILE.json   run [{"op": "mknod"|"setxattr", ...}] in order
  fsops.py dump DIR...       describe every object of each DIR, as session does UPPER
  fsops.py session MOUNT UPPER
                             in a child chrooted into MOUNT, run the operations read from stdin
                             (a JSON list of [name, ...args]) with the same system calls Node's
                             fs makes for the same-named call; then describe every object of
                             UPPER (type, mode, owner, size, sha256, target, rdev, trusted.*
                             xattrs).
                             Prints {"outcomes": [one per operation], "upper": [...]}

`session` chroots so that absolute symlinks resolve inside the overlay, as they do for a process in
a container and in layerfs; followed on the host mount they would reach the host's files.
"""
import errno, hashlib, json, os, stat, sys

def apply(path):
    with open(path) as f:
        ops = json.load(f)
    for op in ops:
        if op["op"] == "mknod":
            kind = {"char": stat.S_IFCHR, "block": stat.S_IFBLK, "fifo": stat.S_IFIFO}[op["type"]]
            os.mknod(op["path"], kind | op.get("mode", 0o644), os.makedev(op.get("major", 0), op.get("minor", 0)))
        elif op["op"] == "setxattr":
            os.setxattr(op["path"], op["name"], op["value"].encode(), follow_symlinks=False)
        else:
            raise SystemExit("unknown op " + op["op"])

def describe(root, path):
    st = os.lstat(path)
    rel = "/" + os.path.relpath(path, root) if path != root else "/"
    d = {"path": rel.replace("/.", "/") if rel == "/." else rel, "mode": stat.S_IMODE(st.st_mode),
         "uid": st.st_uid, "gid": st.st_gid, "nlink": st.st_nlink, "mtime_ms": st.st_mtime_ns // 1000000}
    m = st.st_mode
    if stat.S_ISDIR(m): d["type"] = "directory"
    elif stat.S_ISREG(m):
        d["type"] = "file"; d["size"] = st.st_size
        with open(path, "rb") as f: d["sha256"] = hashlib.sha256(f.read()).hexdigest()
    elif stat.S_ISLNK(m): d["type"] = "symlink"; d["target"] = os.readlink(path)
    elif stat.S_ISCHR(m): d["type"] = "char"; d["rdev"] = [os.major(st.st_rdev), os.minor(st.st_rdev)]
    elif stat.S_ISBLK(m): d["type"] = "block"; d["rdev"] = [os.major(st.st_rdev), os.minor(st.st_rdev)]
    elif stat.S_ISFIFO(m): d["type"] = "fifo"
    else: d["type"] = "other"
    x = {}
    for name in os.listxattr(path, follow_symlinks=False):
        if name.startswith("trusted."):
            x[name] = os.getxattr(path, name, follow_symlinks=False).decode("utf-8", "replace")
    if x: d["xattrs"] = x
    return d

def dump(root):
    out = [describe(root, root)]
    for dirpath, dirnames, filenames in os.walk(root):
        for n in sorted(dirnames + filenames):
            out.append(describe(root, os.path.join(dirpath, n)))
    return out

def stat_view(st):
    v = {"mode": oct(st.st_mode)[2:], "owner": "%d:%d" % (st.st_uid, st.st_gid), "nlink": st.st_nlink,
         "mtime_ms": st.st_mtime_ns // 1000000}
    if not stat.S_ISDIR(st.st_mode): v["size"] = st.st_size
    return v

def write(path, flags, data):
    fd = os.open(path, flags | os.O_CLOEXEC, 0o666)
    try:
        os.write(fd, data.encode())
    finally:
        os.close(fd)

def read_all(path):
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        chunks = []
        while True:
            b = os.read(fd, 65536)
            if not b: break
            chunks.append(b)
        return b"".join(chunks).decode("utf-8", "replace")
    finally:
        os.close(fd)

def rm_recursive(path):
    # Node 20's rmSync(path, { recursive: true }) (lib/internal/fs/rimraf.js, rimrafSync): lstat; a
    # non-directory is unlinked; a directory is rmdir'ed and, when not empty, emptied name by name
    # and rmdir'ed again. A name that is gone by the time a step reaches it is not an error.
    # Names are taken in sorted order, as layerfs lists them: the kernel's readdir order is the
    # layers' filesystems' (lowest layer first, then upper), and a removal through a symlink to
    # an ancestor ends differently depending on it. docs/semantics.md, "Known differences".
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError:
        st = None  # unlink reports the error
    try:
        if st is not None and stat.S_ISDIR(st.st_mode):
            rmdir_emptying(path, None)
        else:
            os.unlink(path)
    except FileNotFoundError:
        return
    except OSError as e:
        if e.errno == errno.EPERM:
            return rmdir_emptying(path, e)
        if e.errno != errno.EISDIR:
            raise
        rmdir_emptying(path, e)

def rmdir_emptying(path, original):
    try:
        os.rmdir(path)
    except FileNotFoundError:
        return
    except OSError as e:
        if e.errno == errno.ENOTDIR:
            raise (original or e)
        if e.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.EPERM):
            raise (original or e)
        for name in sorted(os.listdir(path)):
            rm_recursive(os.path.join(path, name))
        try:
            os.rmdir(path)
        except FileNotFoundError:
            return

def open_flags(flags):
    return {"r": os.O_RDONLY, "r+": os.O_RDWR, "w": os.O_TRUNC | os.O_CREAT | os.O_WRONLY,
            "wx": os.O_TRUNC | os.O_CREAT | os.O_WRONLY | os.O_EXCL, "a": os.O_APPEND | os.O_CREAT | os.O_WRONLY,
            "a+": os.O_APPEND | os.O_CREAT | os.O_RDWR, "w+": os.O_TRUNC | os.O_CREAT | os.O_RDWR}[flags]

def run_op(op):
    name, args = op[0], op[1:]
    if name == "writeFile": write(args[0], os.O_TRUNC | os.O_CREAT | os.O_WRONLY, args[1])
    elif name == "appendFile": write(args[0], os.O_APPEND | os.O_CREAT | os.O_WRONLY, args[1])
    elif name == "open": os.close(os.open(args[0], open_flags(args[1]) | os.O_CLOEXEC, 0o666))
    elif name == "truncate":
        # Node 20's truncateSync(path): open r+, then ftruncate.
        fd = os.open(args[0], os.O_RDWR | os.O_CLOEXEC)
        try: os.ftruncate(fd, args[1])
        finally: os.close(fd)
    elif name == "unlink": os.unlink(args[0])
    elif name == "mkdir": os.mkdir(args[0], 0o777)
    elif name == "rmdir": os.rmdir(args[0])
    elif name == "rmrf":
        # rmSync(path, { recursive: true }) lstats the path first (validateRmOptionsSync): any
        # failure there, ENOENT included, is the call's; below it, rimraf tolerates ENOENT.
        os.lstat(args[0])
        rm_recursive(args[0])
    elif name == "rename": os.rename(args[0], args[1])
    elif name == "link": os.link(args[0], args[1], follow_symlinks=False)
    elif name == "symlink": os.symlink(args[0], args[1])
    elif name == "chmod": os.chmod(args[0], args[1])
    elif name == "chown": os.chown(args[0], args[1], args[2])
    elif name == "lchown": os.lchown(args[0], args[1], args[2])
    elif name == "utimes": os.utime(args[0], (args[1], args[2]))
    elif name == "lutimes": os.utime(args[0], (args[1], args[2]), follow_symlinks=False)
    elif name == "readdir": return sorted(os.listdir(args[0]))
    elif name == "readlink": return os.readlink(args[0])
    elif name == "stat": return stat_view(os.stat(args[0]))
    elif name == "lstat": return stat_view(os.lstat(args[0]))
    elif name == "ino": return {"ino": os.lstat(args[0]).st_ino}
    elif name == "readFile": return read_all(args[0])
    else: raise SystemExit("unknown op " + name)
    return "ok"

def run_chrooted(mount, ops):
    os.umask(0o022)
    os.chroot(mount)
    os.chdir("/")
    out = []
    for op in ops:
        try:
            out.append(run_op(op))
        except OSError as e:
            out.append({"errno": errno.errorcode.get(e.errno, str(e.errno))})
    return out

def session(mount, upper):
    """run in a chrooted child, then dump the upperdir from outside the chroot."""
    ops = json.load(sys.stdin)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        data = json.dumps(run_chrooted(mount, ops)).encode()
        with os.fdopen(w, "wb") as f:
            f.write(data)
        os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        outcomes = json.loads(f.read() or b"null")
    _, status = os.waitpid(pid, 0)
    if status != 0 or outcomes is None:
        raise SystemExit("the chrooted run failed")
    json.dump({"outcomes": outcomes, "upper": dump(upper)}, sys.stdout)

if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "session": session(sys.argv[2], sys.argv[3])
    elif cmd == "apply": apply(sys.argv[2])
    elif cmd == "dump": json.dump([dump(d) for d in sys.argv[2:]], sys.stdout)
    else: raise SystemExit("usage: fsops.py apply FILE | dump DIR... | session MOUNT UPPER")
