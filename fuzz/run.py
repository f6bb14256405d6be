"""Run one fuzz target under atheris (libFuzzer).

    python fuzz/run.py TARGET [libFuzzer options] [corpus dirs]

TARGET is one of loads, types, schema, from_dict (fuzz/harnesses.py). Without corpus dirs
the run reads the seed corpus fuzz/corpus/TARGET and writes what it finds new to
fuzz/.work/TARGET (never into the seeds); crash inputs go to fuzz/.work/TARGET/ too.
Unless given, the per-input bounds are set here: -timeout (seconds per input),
-rss_limit_mb and -malloc_limit_mb (the latter only enforced when a sanitizer runtime
provides malloc hooks, i.e. on the ASan build), and a -max_len per target.
"""

import os
import sys

import atheris

HERE = os.path.dirname(os.path.abspath(__file__))
MAX_LEN = {"loads": 4096, "types": 2048, "schema": 1024, "from_dict": 512}
BOUNDS = {"-timeout": "10", "-rss_limit_mb": "2560", "-malloc_limit_mb": "256"}


def main(argv):
    if len(argv) < 2 or argv[1] not in MAX_LEN:
        sys.exit(f"usage: python fuzz/run.py {{{','.join(MAX_LEN)}}} [libFuzzer options] [corpus dirs]")
    target = argv[1]
    options = [a for a in argv[2:] if a.startswith("-")]
    dirs = [a for a in argv[2:] if not a.startswith("-")]
    work = os.path.join(HERE, ".work", target)
    if not dirs:
        os.makedirs(work, exist_ok=True)
        dirs = [work, os.path.join(HERE, "corpus", target)]
    given = {o.split("=", 1)[0] for o in options}
    defaults = dict(BOUNDS, **{"-max_len": str(MAX_LEN[target]),
                               "-artifact_prefix": work + os.sep})
    options += [f"{k}={v}" for k, v in defaults.items() if k not in given]
    if "-artifact_prefix" not in given:
        os.makedirs(work, exist_ok=True)

    sys.path.insert(0, HERE)
    # Coverage feedback comes from tlfast's Python code (the pure engine, the shared schema,
    # plans and codec); the Cython engine is checked against it, not instrumented here.
    with atheris.instrument_imports(include=["tlfast"]):
        import tlfast._codec_py  # noqa: F401  (imported inside the hook to be instrumented)
        import tlfast._pygen  # noqa: F401
        import harnesses
    harnesses.warm_up()
    atheris.Setup([argv[0]] + options + dirs, harnesses.TARGETS[target])
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
