"""The test corpus: every file of pydicom's own test data and of the pydicom-data package, by a stable name."""

from __future__ import annotations

from pathlib import Path

import data_store
import pydicom

# The folders themselves: get_testdata_files("*") would try to download pydicom's remote test files.
ROOTS = {
    "pydicom": Path(pydicom.__file__).parent / "data" / "test_files",
    "pydicom-data": Path(data_store.__file__).parent / "data",
}
CORPUS = {
    f"{label}/{path.relative_to(root).as_posix()}": path
    for label, root in ROOTS.items()
    for path in sorted(root.rglob("*"))
    if path.is_file()
}
