#!/usr/bin/env bash
# The Cython engine built with AddressSanitizer + UndefinedBehaviorSanitizer (clang), in a
# virtualenv of its own (fuzz/.asan/venv, a non-editable install: the normal build in the
# source tree is left alone).
#
#   bash fuzz/asan.sh build                  # once, and after changing src/tlfast/*.pyx|pxi
#   bash fuzz/asan.sh test [pytest args]     # the whole test suite against the ASan build
#   bash fuzz/asan.sh fuzz TARGET [libFuzzer options] [corpus dirs]   # fuzz/run.py under ASan
#   bash fuzz/asan.sh run CMD...             # anything else under the same environment
#
# Needs Debian's clang and its runtimes: apt-get install -y clang libclang-rt-14-dev.
# CPython itself is not built with ASan, so the ASan runtime must come first in the process:
# it is LD_PRELOADed. It is merged here with libFuzzer (asan_with_fuzzer.so), because the
# extension is also compiled with -fsanitize=fuzzer-no-link: its branches then feed
# atheris's coverage, and libFuzzer must own the coverage callbacks that the plain ASan
# runtime would otherwise answer first. PYTHONMALLOC=malloc sends every Python allocation
# through ASan's malloc, so a read past the end of a bytes object hits a redzone instead of
# pymalloc's arena. detect_leaks=0: CPython does not free everything at exit by design;
# leaks are checked by the test suite (tests/test_leaks.py), not by LeakSanitizer.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${TLFAST_ASAN_DIR:-$ROOT/fuzz/.asan}"
VENV="$OUT/venv"
RUNTIME="$OUT/asan_with_fuzzer.so"
CLANG="${CLANG:-clang}"

asan_env() {
    export LD_PRELOAD="$RUNTIME"
    export PYTHONMALLOC="${PYTHONMALLOC:-malloc}"
    export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:symbolize=1:allocator_may_return_null=1:${ASAN_OPTIONS:-}"
    export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
    export TLFAST_CACHE_DIR="$OUT/cache"
    export TLFAST_EXPECT_BACKEND=cython
}

build() {
    command -v "$CLANG" >/dev/null || { echo "clang not found: apt-get install -y clang libclang-rt-14-dev" >&2; exit 1; }
    local rt
    rt="$(dirname "$("$CLANG" -print-file-name=libclang_rt.asan-x86_64.a)")"
    [ -f "$rt/libclang_rt.fuzzer_no_main-x86_64.a" ] || { echo "no libFuzzer runtime in $rt: apt-get install -y libclang-rt-14-dev" >&2; exit 1; }
    mkdir -p "$OUT"
    # asan_preinit uses .preinit_array, which a shared object may not carry; LD_PRELOAD
    # initialises the runtime early enough without it.
    cp "$rt/libclang_rt.asan-x86_64.a" "$OUT/asan.a"
    ar d "$OUT/asan.a" asan_preinit.cpp.o
    "$CLANG" -shared -o "$RUNTIME" -Wl,--whole-archive "$OUT/asan.a" \
        "$rt/libclang_rt.asan_cxx-x86_64.a" "$rt/libclang_rt.fuzzer_no_main-x86_64.a" \
        -Wl,--no-whole-archive -ldl -lpthread -lrt -lm -lstdc++
    rm -f "$OUT/asan.a"

    [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    # the extras first (a pure install, nothing compiled: the bench extra brings the peers
    # that tests/test_telethon.py and test_kurigram.py compare against), then the engine
    TLFAST_BACKEND=python "$VENV/bin/python" -m pip install -q "$ROOT[test,bench,fuzz]"
    # the build requirements as pyproject.toml states them (the build runs without isolation)
    "$VENV/bin/python" - "$ROOT/pyproject.toml" <<'PY' > "$OUT/build-requires.txt"
import sys, tomllib
print("\n".join(tomllib.load(open(sys.argv[1], "rb"))["build-system"]["requires"]))
PY
    "$VENV/bin/python" -m pip install -q -r "$OUT/build-requires.txt" wheel
    local flags="-fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g"
    rm -rf "$ROOT/build"
    CC="$CLANG" LDSHARED="$CLANG -shared" CFLAGS="$flags" LDFLAGS="-fsanitize=address,undefined" \
        TLFAST_BACKEND=cython "$VENV/bin/python" -m pip install -q --no-cache-dir \
        --no-build-isolation --force-reinstall --no-deps "$ROOT"
    rm -rf "$ROOT/build"
    (asan_env; cd /; "$VENV/bin/python" - <<'PY'
import tlfast, tlfast._codec_cy as cy
assert tlfast.BACKEND == "cython", tlfast.BACKEND_FALLBACK_REASON
print("ASan build:", cy.__file__)
PY
    )
}

cmd="${1:-}"
shift || true
case "$cmd" in
    build) build ;;
    test) asan_env; cd "$ROOT"; exec "$VENV/bin/pytest" -q -p no:cacheprovider "$@" ;;
    fuzz)
        # A small quarantine and 2-frame allocation stacks double the executions per second;
        # a report still shows the full stack of the bad access.
        ASAN_OPTIONS="quarantine_size_mb=16:malloc_context_size=2:${ASAN_OPTIONS:-}"
        asan_env; exec "$VENV/bin/python" "$ROOT/fuzz/run.py" "$@" ;;
    long)
        # The long run: 10^6 executions per target, one target at a time, niced; the log
        # and the final statistics land in fuzz/.work/long/ (README: "Long run").
        mkdir -p "$ROOT/fuzz/.work/long"
        targets=("$@")
        [ ${#targets[@]} -gt 0 ] || targets=(loads types schema from_dict)
        for t1 in "${targets[@]}"; do
                mkdir -p "$ROOT/fuzz/.work/long/$t1"
                commit="$(git -C "$ROOT" rev-parse --short HEAD)"
                git -C "$ROOT" diff --quiet HEAD -- fuzz tlfast src || commit="$commit+changes"
                echo "start $t1 $(date -u +%FT%TZ) commit $commit" >> "$ROOT/fuzz/.work/long/log"
                rc=0
                nice -n 10 bash "$0" fuzz "$t1" -runs="${RUNS:-1000000}" -print_final_stats=1 \
                    -artifact_prefix="$ROOT/fuzz/.work/long/$t1/" "$ROOT/fuzz/.work/long/$t1" \
                    "$ROOT/fuzz/corpus/$t1" > "$ROOT/fuzz/.work/long/$t1.out" 2>&1 || rc=$?
                echo "end $t1 $(date -u +%FT%TZ) rc=$rc" >> "$ROOT/fuzz/.work/long/log"
        done ;;
    run) asan_env; exec "$@" ;;
    *) sed -n '2,20p' "$0"; exit 2 ;;
esac
