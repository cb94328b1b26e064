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
try:
    fs.open("lakehouse/c/new.bin", "wb")
    raised = None
except NotImplementedError:
    raised = "NotImplementedError"
check("writes say they are not built yet", "NotImplementedError", raised)
finish()
