#!/usr/bin/env python3
"""Filesystem operations Node's fs cannot do, for the kernel overlay tests.

  fsops.py apply FILE.json   run [{"op": "mknod"|"setxattr", ...}] in order
  fsops.py dump DIR          print a JSON list describing every object below DIR
                             (type, mode, owner, size, sha256, target, rdev, trusted.* xattrs)
"""
import hashlib, json, os, stat, sys

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
    json.dump(out, sys.stdout)

if __name__ == "__main__":
    {"apply": apply, "dump": dump}[sys.argv[1]](sys.argv[2])
