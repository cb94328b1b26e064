"""tests/integration/python_checks.py: the shoal:// fsspec file system
(client/python/shoalfs.py) against a real cluster (run by test_client.sh,
with the SHOAL_* environment and DIR holding the objects' bytes)."""
import io
import os
import sys

import fsspec
import pandas

from s3check import check, finish
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "client", "python"))
import shoalfs  # noqa: E402 (after its path)

DIR = os.environ["DIR"]
big = open(os.path.join(DIR, "big.bin"), "rb").read()

fs = fsspec.filesystem("shoal")
check("fsspec knows shoal:// once shoalfs is imported", True, isinstance(fs, shoalfs.ShoalFileSystem))
info = fs.info("shoal://lakehouse/c/big.bin")
check("info: size and type", (len(big), "file"), (info["size"], info["type"]))
check("exists: yes", True, fs.exists("lakehouse/c/big.bin"))
check("exists: a missing key, no", False, fs.exists("lakehouse/c/nope.bin"))
try:
    fs.info("lakehouse/c/nope.bin")
    raised = None
except FileNotFoundError:
    raised = "FileNotFoundError"
check("info of a missing key: FileNotFoundError", "FileNotFoundError", raised)
check("cat_file: the whole object", True, fs.cat_file("lakehouse/c/big.bin") == big)
check("cat_file with a range across blocks", True,
      fs.cat_file("lakehouse/c/big.bin", 1048000, 3146000) == big[1048000:3146000])
check("cat_file with a negative start (the last 100 bytes)", True,
      fs.cat_file("lakehouse/c/big.bin", -100) == big[-100:])
with fs.open("shoal://lakehouse/c/big.bin", "rb") as f:
    a = f.read(10)
    f.seek(3 * 1048576 - 5)
    b = f.read(20)
    f.seek(-7, io.SEEK_END)
    c = f.read()
check("open: read, seek, read across a block, seek from the end", True,
      (a, b, c) == (big[:10], big[3 * 1048576 - 5:3 * 1048576 + 15], big[-7:]))
df = pandas.read_csv("shoal://lakehouse/c/table.csv")
want = pandas.read_csv(os.path.join(DIR, "table.csv"))
check("pandas.read_csv(\"shoal://...\"): the table", True, df.equals(want))
check("... all its rows", len(want), len(df))

# writes: pipe, put, open("wb"), pandas' to_csv; then listings over them
fs.pipe_file("lakehouse/py/a.txt", b"hello")
check("pipe_file, then cat_file: the bytes", b"hello", fs.cat_file("shoal://lakehouse/py/a.txt"))
check("... and info: its size", 5, fs.info("lakehouse/py/a.txt")["size"])
fs.pipe_file("lakehouse/py/a.txt", b"hello again")
check("pipe_file over it: the new bytes at once", b"hello again", fs.cat_file("lakehouse/py/a.txt"))
fs.put(os.path.join(DIR, "big.bin"), "lakehouse/py/big.bin")
check("put of a 5 MiB local file: read back identical", True, fs.cat_file("lakehouse/py/big.bin") == big)
with fs.open("lakehouse/py/w.bin", "wb") as f:
    f.write(b"x" * 3000000)
    f.write(b"y")
check("open('wb'), two writes, close: one object of both", b"x" * 3000000 + b"y",
      fs.cat_file("lakehouse/py/w.bin"))
out = pandas.DataFrame({"id": range(1000), "name": ["n%d" % i for i in range(1000)]})
out.to_csv("shoal://lakehouse/py/out.csv", index=False)
check("pandas to_csv(\"shoal://...\") then read_csv: the same table", True,
      pandas.read_csv("shoal://lakehouse/py/out.csv").equals(out))
check("ls BUCKET/PREFIX: the keys right under it", ["lakehouse/py/a.txt", "lakehouse/py/big.bin",
                                                     "lakehouse/py/out.csv", "lakehouse/py/w.bin"],
      fs.ls("lakehouse/py", detail=False))
d = {e["name"]: e for e in fs.ls("shoal://lakehouse/py/")}
check("ls with detail: sizes and types", (5 * 1048576 + 12345, "file", 11),
      (d["lakehouse/py/big.bin"]["size"], d["lakehouse/py/big.bin"]["type"], d["lakehouse/py/a.txt"]["size"]))
top = {e["name"]: e["type"] for e in fs.ls("lakehouse")}
check("ls BUCKET: prefixes as directories", ("directory", "directory"), (top.get("lakehouse/c"), top.get("lakehouse/py")))
check("info of a prefix: a directory", "directory", fs.info("lakehouse/py")["type"])
check("find (recursive, over ls): every key under it", 4, len(fs.find("lakehouse/py")))
check("glob over ls", ["lakehouse/py/big.bin"], fs.glob("lakehouse/py/b*.bin"))
check("exists of an empty prefix: no", False, fs.exists("lakehouse/nothing-here"))
try:
    fs.ls("lakehouse/nothing-here")
    raised = None
except FileNotFoundError:
    raised = "FileNotFoundError"
check("ls of an empty prefix: FileNotFoundError", "FileNotFoundError", raised)
try:
    fs.pipe_file("nobucket/x", b"1")
    raised = None
except OSError as e:
    raised = "OSError"
check("pipe_file into an unknown bucket: an OSError", "OSError", raised)
finish()
