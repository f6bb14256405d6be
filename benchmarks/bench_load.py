"""Start-up cost: importing tlfast and loading the bundled layer 228 + MTProto schemas,
against Telethon importing its generated registry, each in a fresh interpreter.

Each round is a whole `python -c ...` process, so the group also carries a bare interpreter
as the baseline; what a library costs is its time minus the baseline. The schema cache is
warmed first, as it is after the first import on any machine.
"""

import subprocess
import sys

import pytest

SCRIPTS = {
    "python-startup": "pass",
    "tlfast": "import tlfast; tlfast.schemas.api; tlfast.schemas.mtproto; "
    "from tlfast import api; api.auth.importAuthorization",
    "telethon": "import telethon.tl.alltlobjects",
}


def _run(code):
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("what", list(SCRIPTS))
def test_import_and_load(benchmark, what):
    if what == "telethon":
        pytest.importorskip("telethon")
    _run(SCRIPTS[what])  # warm the OS cache and tlfast's schema cache
    benchmark.group = "load: import + bundled schemas (fresh process)"
    benchmark.pedantic(_run, args=(SCRIPTS[what],), rounds=5, iterations=1)
