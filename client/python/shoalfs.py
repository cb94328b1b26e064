"""client/python/shoalfs.py: shoal:// for Python data jobs: an fsspec file
system over libshoal (ctypes, from the standard library), so that pandas,
pyarrow or dask read objects straight from the owners of their blocks.

    import shoalfs, pandas
    df = pandas.read_csv("shoal://lakehouse/orders/2024.csv")

Importing the module registers the "shoal" protocol with fsspec. The cluster
comes from the filesystem's arguments (storage_options) or the environment,
as for the `shoal` CLI: seeds (SHOAL_SEEDS, the nodes' listen.peer), cluster
(SHOAL_CLUSTER), key_file (SHOAL_KEY_FILE), block_size (SHOAL_BLOCK_SIZE),
replication (SHOAL_REPLICATION). The library is libshoal.so from SHOAL_LIB,
else the system's (ctypes.util.find_library), else the build tree's.

Reads: open (buffered, seekable), cat_file with ranges, info, exists, and
ls (and what fsspec builds on it: find, glob, walk), keys rolled up at "/"
into directories. Writes: pipe, put, and open(..., "wb"), each a whole
object written through the owner of the key's metadata straight to S3
(write-through, shoal_put): a write is kept in memory until it is closed
(5 GiB at most), and is seen by every node and client once it returns.
"""
import ctypes
import ctypes.util
import errno
import os

from fsspec.registry import register_implementation
from fsspec.spec import AbstractBufferedFile, AbstractFileSystem

ENOENT = -4  # SHOAL_ENOENT
ERDONLY = -14  # SHOAL_ERDONLY
PUT_MAX = 5 << 30  # SHOAL_PUT_MAX


class _Opts(ctypes.Structure):
    _fields_ = [("seeds", ctypes.c_char_p), ("cluster", ctypes.c_char_p),
                ("key_file", ctypes.c_char_p), ("block_size", ctypes.c_uint64),
                ("replication", ctypes.c_uint), ("timeout_ms", ctypes.c_uint)]


class _Object(ctypes.Structure):
    _fields_ = [("size", ctypes.c_uint64), ("etag", ctypes.c_char * 128),
                ("mtime", ctypes.c_int64), ("content_type", ctypes.c_char * 128)]


class _Entry(ctypes.Structure):
    _fields_ = [("key", ctypes.c_char_p), ("is_prefix", ctypes.c_int), ("size", ctypes.c_uint64),
                ("etag", ctypes.c_char_p), ("mtime", ctypes.c_int64)]


_LIST_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(_Entry))


def _load():
    here = os.path.dirname(os.path.abspath(__file__))
    for path in (os.environ.get("SHOAL_LIB"), ctypes.util.find_library("shoal"),
                 os.path.join(here, "..", "..", "build", "libshoal.so")):
        if path and (os.path.exists(path) or not os.path.isabs(path)):
            try:
                lib = ctypes.CDLL(path)
                break
            except OSError:
                continue
    else:
        raise ImportError("libshoal.so not found: set SHOAL_LIB, or `make install`")
    lib.shoal_open.argtypes = [ctypes.POINTER(_Opts), ctypes.POINTER(ctypes.c_void_p)]
    lib.shoal_close.argtypes = [ctypes.c_void_p]
    lib.shoal_close.restype = None
    lib.shoal_strerror.argtypes = [ctypes.c_int]
    lib.shoal_strerror.restype = ctypes.c_char_p
    lib.shoal_stat.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p,
                               ctypes.POINTER(_Object)]
    lib.shoal_pread.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p,
                                ctypes.POINTER(_Object), ctypes.c_void_p, ctypes.c_size_t,
                                ctypes.c_uint64, ctypes.POINTER(ctypes.c_size_t)]
    lib.shoal_put.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                              ctypes.c_size_t, ctypes.c_char_p, ctypes.POINTER(_Object)]
    lib.shoal_list.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                               ctypes.c_char_p, _LIST_FN, ctypes.c_void_p]
    return lib


_lib = _load()


def _error(err, what):
    msg = "%s: %s" % (what, _lib.shoal_strerror(err).decode())
    if err == ENOENT:
        return FileNotFoundError(errno.ENOENT, msg)
    if err == ERDONLY:
        return PermissionError(errno.EROFS, msg)
    return OSError(errno.EIO, msg)


def _split(path):
    bucket, _, key = path.partition("/")
    if not bucket or not key:
        raise ValueError("a shoal path is BUCKET/KEY: %r" % path)
    return bucket.encode(), key.encode()


class ShoalFileSystem(AbstractFileSystem):
    """fsspec's AbstractFileSystem over one shoal cluster (thread-safe)."""

    protocol = "shoal"
    root_marker = ""

    def __init__(self, seeds=None, cluster=None, key_file=None, block_size=None,
                 replication=None, timeout_ms=0, **kw):
        super().__init__(**kw)
        env = os.environ.get
        self._keep = [(seeds or env("SHOAL_SEEDS") or "").encode(),
                      (cluster or env("SHOAL_CLUSTER") or "shoal").encode(),
                      (key_file or env("SHOAL_KEY_FILE") or "").encode()]
        o = _Opts(self._keep[0], self._keep[1], self._keep[2] or None,
                  int(block_size or env("SHOAL_BLOCK_SIZE") or 0),
                  int(replication or env("SHOAL_REPLICATION") or 0), int(timeout_ms))
        h = ctypes.c_void_p()
        err = _lib.shoal_open(ctypes.byref(o), ctypes.byref(h))
        if err:
            raise _error(err, "shoal: cannot reach the cluster")
        self._h = h

    def __del__(self):
        if getattr(self, "_h", None):
            _lib.shoal_close(self._h)
            self._h = None

    @classmethod
    def _strip_protocol(cls, path):
        path = path[len("shoal://"):] if path.startswith("shoal://") else path
        return path.strip("/")

    def _stat(self, path):
        bucket, key = _split(self._strip_protocol(path))
        st = _Object()
        err = _lib.shoal_stat(self._h, bucket, key, ctypes.byref(st))
        if err:
            raise _error(err, path)
        return st

    def info(self, path, **kw):
        path = self._strip_protocol(path)
        try:
            st = self._stat(path)
            return {"name": path, "size": st.size, "type": "file", "ETag": st.etag.decode(),
                    "mtime": st.mtime, "ContentType": st.content_type.decode()}
        except (FileNotFoundError, ValueError):
            pass
        # a bucket, or a prefix that holds keys: a directory
        bucket, _, key = path.partition("/")
        if bucket and self._list(bucket, key + "/" if key else "", "/", limit=1):
            return {"name": path, "size": 0, "type": "directory"}
        raise FileNotFoundError(errno.ENOENT, "%s: no such object or prefix" % path)

    def exists(self, path, **kw):
        try:
            self.info(path)
            return True
        except FileNotFoundError:
            return False

    def _list(self, bucket, prefix, delimiter, limit=None):
        """(key, is_prefix, size, etag, mtime) under PREFIX, in key order."""
        out = []

        def one(arg, e):
            e = e.contents
            out.append((e.key.decode(), bool(e.is_prefix), e.size,
                        e.etag.decode() if e.etag else "", e.mtime))
            return 1 if limit and len(out) >= limit else 0

        fn = _LIST_FN(one)
        err = _lib.shoal_list(self._h, bucket.encode(), prefix.encode(),
                              delimiter.encode() if delimiter else None, None, fn, None)
        if err < 0:
            raise _error(err, "%s/%s" % (bucket, prefix))
        return out

    def ls(self, path, detail=True, **kw):
        """The keys and directories right under PATH (BUCKET or BUCKET/PREFIX),
        or PATH itself when it is a key."""
        path = self._strip_protocol(path)
        bucket, _, key = path.partition("/")
        if not bucket:
            raise ValueError("shoal:// lists a bucket or a prefix: BUCKET[/PREFIX]")
        found = []
        for k, is_dir, size, etag, mtime in self._list(bucket, key + "/" if key else "", "/"):
            name = "%s/%s" % (bucket, k.rstrip("/") if is_dir else k)
            found.append({"name": name, "size": 0, "type": "directory"} if is_dir else
                         {"name": name, "size": size, "type": "file", "ETag": etag,
                          "mtime": mtime})
        if not found and key:
            found = [self.info(path)]  # a key (FileNotFoundError when nothing is there)
        return found if detail else [f["name"] for f in found]

    def pipe_file(self, path, value, content_type=None, **kw):
        """VALUE (bytes) as the object PATH, written through to S3."""
        bucket, key = _split(self._strip_protocol(path))
        if len(value) > PUT_MAX:
            raise ValueError("%s: larger than 5 GiB" % path)
        st = _Object()
        err = _lib.shoal_put(self._h, bucket, key, bytes(value), len(value),
                             content_type.encode() if content_type else None, ctypes.byref(st))
        if err:
            raise _error(err, path)
        return {"size": st.size, "ETag": st.etag.decode()}

    def put_file(self, lpath, rpath, callback=None, content_type=None, **kw):
        with open(lpath, "rb") as f:
            self.pipe_file(rpath, f.read(), content_type=content_type)

    def read_range(self, path, start, end, st=None):
        """Bytes [start, end) of PATH (of ST's version, when given)."""
        bucket, key = _split(self._strip_protocol(path))
        if end <= start:
            return b""
        buf = ctypes.create_string_buffer(end - start)
        got = ctypes.c_size_t()
        err = _lib.shoal_pread(self._h, bucket, key, ctypes.byref(st) if st else None, buf,
                               end - start, start, ctypes.byref(got))
        if err:
            raise _error(err, path)
        return buf.raw[:got.value]

    def cat_file(self, path, start=None, end=None, **kw):
        st = self._stat(path)
        start = 0 if start is None else (start if start >= 0 else max(0, st.size + start))
        end = st.size if end is None else (end if end >= 0 else max(0, st.size + end))
        return self.read_range(path, start, min(end, st.size), st)

    def _open(self, path, mode="rb", block_size=None, autocommit=True, cache_options=None,
              **kw):
        if mode not in ("rb", "wb"):
            raise ValueError("shoal:// files open with 'rb' or 'wb', not %r" % mode)
        return ShoalFile(self, path, mode, block_size or "default", cache_options=cache_options,
                         **kw)


class ShoalFile(AbstractBufferedFile):
    """Read ("rb"): a seekable file of one object version (fsspec buffers
    it). Write ("wb"): the bytes are kept until close, then written as one
    object (shoal_put)."""

    def __init__(self, fs, path, mode="rb", block_size="default", **kw):
        if mode == "rb":
            self._st = fs._stat(path)
            super().__init__(fs, path, mode, block_size, size=self._st.size, **kw)
        else:
            _split(fs._strip_protocol(path))  # ValueError now, not at close
            super().__init__(fs, path, mode, block_size, **kw)

    def _initiate_upload(self):
        pass

    def _upload_chunk(self, final=False):
        if not final:
            return False  # keep the bytes: the object is written whole, at close
        self.fs.pipe_file(self.path, self.buffer.getvalue())
        return True

    def _fetch_range(self, start, end):
        return self.fs.read_range(self.path, start, min(end, self._st.size), self._st)


register_implementation("shoal", ShoalFileSystem, clobber=True)
