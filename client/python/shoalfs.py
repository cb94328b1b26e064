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

Built: open (buffered, seekable), cat_file with ranges, info, exists.
Planned (they need shoal_list and shoal_put in the library): ls, pipe, put.
"""
import ctypes
import ctypes.util
import errno
import os

from fsspec.registry import register_implementation
from fsspec.spec import AbstractBufferedFile, AbstractFileSystem

ENOENT = -4  # SHOAL_ENOENT


class _Opts(ctypes.Structure):
    _fields_ = [("seeds", ctypes.c_char_p), ("cluster", ctypes.c_char_p),
                ("key_file", ctypes.c_char_p), ("block_size", ctypes.c_uint64),
                ("replication", ctypes.c_uint), ("timeout_ms", ctypes.c_uint)]


class _Object(ctypes.Structure):
    _fields_ = [("size", ctypes.c_uint64), ("etag", ctypes.c_char * 128),
                ("mtime", ctypes.c_int64), ("content_type", ctypes.c_char * 128)]


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
    return lib


_lib = _load()


def _error(err, what):
    msg = "%s: %s" % (what, _lib.shoal_strerror(err).decode())
    if err == ENOENT:
        return FileNotFoundError(errno.ENOENT, msg)
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
        st = self._stat(path)
        return {"name": self._strip_protocol(path), "size": st.size, "type": "file",
                "ETag": st.etag.decode(), "mtime": st.mtime,
                "ContentType": st.content_type.decode()}

    def exists(self, path, **kw):
        try:
            self._stat(path)
            return True
        except (FileNotFoundError, ValueError):
            return False

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
        if mode != "rb":
            raise NotImplementedError("shoal:// writes need shoal_put (planned); open with 'rb'")
        return ShoalFile(self, path, mode, block_size or "default", cache_options=cache_options,
                         **kw)

    def ls(self, path, detail=True, **kw):
        raise NotImplementedError("shoal:// listing needs shoal_list (planned); "
                                  "read known keys with open, cat_file or info")


class ShoalFile(AbstractBufferedFile):
    """A read-only, seekable file of one object version (fsspec buffers it)."""

    def __init__(self, fs, path, mode="rb", block_size="default", **kw):
        self._st = fs._stat(path)
        super().__init__(fs, path, mode, block_size, size=self._st.size, **kw)

    def _fetch_range(self, start, end):
        return self.fs.read_range(self.path, start, min(end, self._st.size), self._st)


register_implementation("shoal", ShoalFileSystem, clobber=True)
