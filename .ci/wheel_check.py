"""What every installed wheel must do, wherever it runs (.ci/run, cibuildwheel's tests):
use the compiled engine, round-trip the seed on it, and carry the typed stubs.

Run it outside the source tree, so the installed package is the one imported.
"""

import importlib.util
import os
import sys

import tlfast
from tlfast import api

here = os.path.dirname(os.path.abspath(tlfast.__file__))
assert not os.path.exists(os.path.join(here, "..", "setup.py")), f"imported the source tree: {here}"
assert tlfast.BACKEND == "cython", (tlfast.BACKEND, tlfast.BACKEND_FALLBACK_REASON)
req = api.auth.importAuthorization(id=4965292, bytes=b"some bytes here")
data = bytes(req)
assert data.hex() == "ad7d7aa5acc34b00000000000f736f6d652062797465732068657265", data.hex()
assert tlfast.loads(data) == req
for name in ("py.typed", "__init__.pyi", "_api.pyi", "_mtproto.pyi", "_model.pyi", "errors.pyi"):
    assert os.path.exists(os.path.join(here, name)), f"the wheel lacks tlfast/{name}"
for package in ("adapters", "testing"):  # setup.py lists packages one by one
    assert os.path.exists(os.path.join(here, package, "__init__.py")), f"the wheel lacks tlfast.{package}"
print(f"wheel OK: tlfast {tlfast.__version__}, backend {tlfast.BACKEND}, Python "
      f"{sys.version.split()[0]}, Cython importable: {importlib.util.find_spec('Cython') is not None}, "
      f"from {here}")
