"""The "ton" dialect: TON's lite_api, ton_api and tonlib_api, as pytoniq-core 0.2.1 ships them.

The schemas are TON's (LGPL-2.0), so tlfast does not bundle them: these tests read them from
the installed pytoniq-core (the ``test`` extra), whose TL codec is also the oracle for the
bytes of requests and answers. Ids are checked against TON's own tl-parser output
(tests/data/ton-tlo-ids.json) and, for the rest, against pytoniq-core's generator.
"""

import json
import os
import pickle
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import tlfast
from tlfast import Schema, TLEncodeError, TLSchemaError

pytoniq_core = pytest.importorskip("pytoniq_core")
from pytoniq_core.tl.generator import TlGenerator  # noqa: E402

import strategies as S  # noqa: E402  (tests/ is on sys.path: conftest.py)

SCHEMAS = Path(pytoniq_core.__file__).parent / "tl" / "schemas"
NAMES = ["lite_api", "ton_api", "tonlib_api"]
TLO_IDS = json.loads((Path(__file__).parent / "data" / "ton-tlo-ids.json").read_text())
BLOCK = {"workchain": -1, "shard": -(1 << 63), "seqno": 123, "root_hash": 5 << 200,
         "file_hash": (1 << 255) - 7}


@pytest.fixture(scope="module")
def lite():
    return Schema.from_file(SCHEMAS / "lite_api.tl", dialect="ton")


@pytest.fixture(scope="module")
def oracle():
    return TlGenerator(str(SCHEMAS / "lite_api.tl")).generate()


@pytest.mark.parametrize("name", NAMES)
def test_every_id_is_tons(name):
    s = Schema.from_file(SCHEMAS / f"{name}.tl", dialect="ton")
    truth = TLO_IDS[name]
    gen = TlGenerator(str(SCHEMAS / f"{name}.tl")).generate()
    by_tlo = by_pytoniq = skipped = 0
    for d in list(s) + s.builtins:
        if d.name in truth:  # TON's own tl-parser output
            assert d.id == int(truth[d.name], 16), d.source
            by_tlo += 1
        elif "<" not in d.source:  # declarations changed since: pytoniq-core's generator
            # (whose rule keeps '<' '>', where TON's .tlo shows the ids above are right)
            assert d.id == int.from_bytes(gen.get_by_name(d.name).id, "big"), d.source
            by_pytoniq += 1
        else:
            skipped += 1
    assert by_tlo == len(truth) > 90
    assert by_tlo + by_pytoniq + skipped == len(s) + len(s.builtins) and skipped <= 4


def test_telegram_rule_gives_other_ids():
    line = "adnl.message.query query_id:int256 query:bytes = adnl.Message;"
    assert Schema.from_text(line, dialect="ton")["adnl.message.query"].id == 0xB48BF97A
    assert Schema.from_text(line)["adnl.message.query"].id == 0x562C35D4
    true_line = "x mode:# a:mode.0?true = X;"
    assert Schema.from_text(true_line, dialect="ton")["x"].id != Schema.from_text(true_line)["x"].id


def test_declared_ids_win_without_warning(recwarn):
    s = Schema.from_file(SCHEMAS / "lite_api.tl", dialect="ton")
    assert s["liteServer.transactionId"].id == 0xB12F65AF
    assert {"liteServer.transactionId", "liteServer.getValidatorStats"} <= {d.name for d in s.id_mismatches}
    assert not [w for w in recwarn if issubclass(w.category, tlfast.TLSchemaWarning)]


def test_multi_dot_names_and_namespaces(lite):
    d = lite["adnl.message.query"]
    assert (d.namespace, d.short_name) == ("adnl.message", "query")
    assert lite["liteServer.getMasterchainInfo"].namespace == "liteServer"
    assert lite.api.adnl.message.query is lite._class("adnl.message.query")
    assert lite.api.adnl.Message is lite._type_class("adnl.Message")
    w = Schema.from_file(SCHEMAS / "tonlib_api.tl", dialect="ton")["wallet.v3.initialAccountState"]
    assert (w.namespace, w.short_name) == ("wallet.v3", "initialAccountState")


def test_lookup_block_keeps_mode_bits_without_fields(lite, oracle, backend):
    api = lite.api
    req = api.liteServer.lookupBlock(mode=1, id=api.tonNode.blockId(workchain=-1, shard=-(1 << 63), seqno=9))
    data = lite.dumps(req, backend=backend)
    assert data == oracle.serialize("liteServer.lookupBlock",
                                    {"mode": 1, "id": {"workchain": -1, "shard": -(1 << 63), "seqno": 9}})
    assert lite.loads(data, backend=backend) == req
    # A present field sets its bit (1 | 4), an absent one clears it (4 given, utime None).
    req.utime = 1700000000
    assert lite.dumps(req, backend=backend)[4:8] == (5).to_bytes(4, "little")
    req.mode, req.utime = 4, None
    assert lite.dumps(req, backend=backend)[4:8] == bytes(4)


def test_list_block_transactions_mode_39(lite, oracle, backend):
    api = lite.api
    req = api.liteServer.listBlockTransactions(
        id=api.tonNode.blockIdExt(**BLOCK), mode=39, count=40, want_proof=True)
    data = lite.dumps(req, backend=backend)
    assert data == oracle.serialize("liteServer.listBlockTransactions",
                                    {"id": BLOCK, "mode": 39, "count": 40, "want_proof": True})
    # Wrapped as the lite client sends it: liteServer.query inside adnl.message.query.
    query = api.liteServer.query(data=data)
    msg = api.adnl.message.query(query_id=77, query=lite.dumps(query, backend=backend))
    wire = lite.dumps(msg, backend=backend)
    assert wire == oracle.serialize("adnl.message.query", {
        "query_id": 77, "query": oracle.serialize("liteServer.query", {"data": data})})
    back = lite.loads(wire, backend=backend)
    assert lite.loads(lite.loads(back.query, backend=backend).data, backend=backend) == req


def test_answer_decodes_as_pytoniq_writes_it(lite, oracle, backend):
    ids = [{"mode": 7, "account": 11, "lt": 12, "hash": 13}, {"mode": 2, "lt": 99}]
    answer = oracle.serialize("liteServer.blockTransactions", {
        "id": BLOCK, "req_count": 40, "incomplete": True, "ids": ids, "proof": b"\x01\x02"})
    wire = oracle.serialize("adnl.message.answer", {"query_id": 77, "answer": answer})
    msg = lite.loads(wire, backend=backend)
    assert msg.query_id == 77
    obj = lite.loads(msg.answer, backend=backend)
    assert obj.incomplete is True and obj.proof == b"\x01\x02" and obj.req_count == 40
    assert obj.id.to_dict() == {"_": "tonNode.blockIdExt", **BLOCK}
    got = [(t.mode, t.account, t.lt, t.hash) for t in obj.ids]
    assert got == [(7, 11, 12, 13), (2, None, 99, None)]
    assert lite.dumps(obj, backend=backend) == answer


def test_decode_keeps_the_word_as_read(lite, backend):
    # mode 0x81: bit 0 (account) and bit 7, which no field of transactionId uses.
    t = lite.api.liteServer.transactionId(mode=0x81, account=5)
    data = lite.dumps(t, backend=backend)
    assert data[4:8] == (0x81).to_bytes(4, "little")
    back = lite.loads(data, backend=backend)
    assert back.mode == 0x81 and back.account == 5
    assert lite.dumps(back, backend=backend) == data


@pytest.mark.parametrize("mode, message", [
    (-1, "# out of range: -1"), (1 << 32, "# out of range"), ("1", "# expects int, got str"),
    (None, "# expects int, got NoneType"), (True, "# expects int, got bool"),
])
def test_bad_mode_is_refused_with_its_path(lite, backend, mode, message):
    req = lite.api.liteServer.lookupBlock(mode=0, id=lite.api.tonNode.blockId(workchain=0, shard=0, seqno=1))
    req.mode = mode
    with pytest.raises(TLEncodeError) as exc:
        lite.dumps(req, backend=backend)
    assert message in str(exc.value)
    assert exc.value.path == "liteServer.lookupBlock.mode"


def test_mode_defaults_to_zero(lite, backend):
    req = lite.api.liteServer.getBlockOutMsgQueueSize(id=lite.api.tonNode.blockIdExt(**BLOCK), want_proof=True)
    assert req.mode == 0
    assert lite.dumps(req, backend=backend)[4:8] == (1).to_bytes(4, "little")
    assert lite.from_dict(req.to_dict()) == req


def test_tonlib_aliases_are_primitives(backend):
    s = Schema.from_file(SCHEMAS / "tonlib_api.tl", dialect="ton")
    err = s.api.error(code=5, message="boom")
    assert s.dumps(err, backend=backend) == s["error"].id.to_bytes(4, "little") + (5).to_bytes(4, "little") + b"\x04boom\0\0\0"
    assert s.loads(s.dumps(err, backend=backend), backend=backend) == err
    names = {d.name for d in s.builtins}
    assert {"int32", "int53", "int64", "secureString", "secureBytes"} <= names
    assert s["int53"].is_builtin and "int53" not in s.types and s.undefined_types == []
    ok = s.api.ok()
    key = s.api.inputKeyRegular(key=s.api.key(public_key="pk", secret=b"\x00\xff"), local_password=b"pw")
    assert s.loads(s.dumps(key, backend=backend), backend=backend) == key
    assert s.loads(s.dumps(ok, backend=backend), backend=backend) == ok
    state = s.api.raw.initialAccountState(code=b"c", data=b"d")
    acct = s.api.raw.fullAccountState(
        balance=1 << 40, extra_currencies=[], code=b"", data=b"", frozen_hash=b"",
        last_transaction_id=s.api.internal.transactionId(lt=-5, hash=b"h"),
        block_id=s.api.ton.blockIdExt(workchain=0, shard=1, seqno=2, root_hash=b"r", file_hash=b"f"),
        sync_utime=(1 << 53) - 1)
    assert s.loads(s.dumps(acct, backend=backend), backend=backend) == acct
    assert s.loads(s.dumps(state, backend=backend), backend=backend) == state
    # The telegram dialect reads `int32 = Int32;` as a constructor with no fields.
    assert "int32" in Schema.from_file(SCHEMAS / "tonlib_api.tl")


def test_telegram_dialect_keeps_no_word():
    s = Schema.from_text("x flags:# a:flags.0?int = X;")
    assert [a for a, _ in s.api.x._fields] == ["a"]
    with pytest.raises(TypeError):
        s.api.x(flags=1)


def test_every_ton_constructor_round_trips(backend):
    # Each constructor with its required fields at zero values, on both engines.
    from tlfast import _plans as PL
    zero = {PL.INT: 0, PL.UINT: 0, PL.LONG: 0, PL.INT128: 0, PL.INT256: 0, PL.DOUBLE: 0.0,
            PL.BOOL: False, PL.BYTES: b"", PL.STRING: "", PL.VECTOR: [], PL.BARE_VECTOR: []}
    for name in NAMES:
        s = Schema.from_file(SCHEMAS / f"{name}.tl", dialect="ton")
        done = 0
        for d in s:
            if str(d.type) == "Bool":
                continue  # boolTrue, boolFalse: Python's bools in an Object position
            plan = s._plan(d.name)
            kwargs = {f.attr: zero[f.kind] for f in plan.fields
                      if f.slot >= 0 and f.flag < 0 and f.kind in zero}
            if len(kwargs) != sum(1 for f in plan.fields if f.slot >= 0 and f.flag < 0 and f.kind != PL.FLAGS):
                continue  # a field of an object type: covered by the tests above
            obj = plan.cls(**kwargs)
            assert s.loads(s.dumps(obj, backend=backend), backend=backend) == obj, d.name
            done += 1
        assert done > 30


def test_dialect_checks():
    with pytest.raises(ValueError, match="unknown TL dialect 'tom'"):
        Schema.from_text("x = X;", dialect="tom")
    ton = Schema.from_text("x = X;", dialect="ton")
    assert Schema.from_text("y = Y;", base=ton).dialect == "ton"
    with pytest.raises(TLSchemaError, match="cannot extend"):
        Schema.from_text("y = Y;", base=ton, dialect="telegram")
    assert tlfast.schemas.api.dialect == "telegram"


def test_pickle_keeps_the_dialect():
    # Its own schema: unpickling finds the last schema made from the same text and dialect.
    lite = Schema.from_file(SCHEMAS / "lite_api.tl", dialect="ton")
    t = lite.api.liteServer.transactionId(mode=0x81, account=5)
    back = pickle.loads(pickle.dumps(t))
    assert back == t and type(back) is type(t)


def test_cli_dialect(tmp_path):
    import subprocess
    import sys

    def show(*dialect):
        out = subprocess.run([sys.executable, "-m", "tlfast", "schema", *dialect, "--schema",
                              str(SCHEMAS / "lite_api.tl"), "adnl.message.query"],
                             capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        return out.stdout

    assert "0xb48bf97a" in show("--dialect", "ton")
    assert "0x562c35d4" in show()
    # decode: the word is the object's in the ton dialect
    out = subprocess.run([sys.executable, "-m", "tlfast", "decode", "--dialect", "ton", "--schema",
                          str(SCHEMAS / "lite_api.tl"), "1ef7c8fa01000000ffffffff000000000000008009000000"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["mode"] == 1


def test_stubs_type_the_word():
    from tlfast import _stubgen

    text = _stubgen.generate(Schema.from_file(SCHEMAS / "lite_api.tl", dialect="ton"), "lite_api")
    assert "class lookupBlock(TLFunction[_R.liteServer.BlockHeader]):\n            mode: _int\n" in text
    assert "def __init__(self, *, mode: _int = 0, id: _R.tonNode.blockId," in text
    assert "class query(_R.adnl.Message):" in text  # adnl.message.query, three levels deep


# Random objects of lite_api and ton_api, '#' words drawn over all 32 bits: both engines
# write the same bytes, read back the same objects, and a decoded object re-encodes as read.
# (One generator per schema: an object of one holds only its own schema's constructors.)
_RANDOM = [S.TLStrategies([Schema.from_file(SCHEMAS / f"{name}.tl", dialect="ton")],
                          max_depth=3, max_list=2) for name in ("lite_api", "ton_api")]
_RANDOM_PLANS = [(gen, p) for gen in _RANDOM for p in gen.plans if gen.usable(p)]


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(obj=st.sampled_from(_RANDOM_PLANS).flatmap(lambda gp: gp[0].of(gp[1])))
def test_random_ton_objects_on_both_engines(backend, other, obj):
    s = type(obj)._plan.schema
    data = s.dumps(obj, backend=backend)
    back = s.loads(data, backend=backend)
    assert s.dumps(back, backend=backend) == data
    if other is not None:
        assert s.dumps(obj, backend=other) == data
        assert s.loads(data, backend=other) == back
    # Each stored word keeps the bits no field of it uses, as given.
    plan = type(obj)._plan
    for i in plan.flag_fields:
        f = plan.fields[i]
        used = 0
        for g in plan.fields:
            if g.flag == i:
                used |= 1 << g.bit  # (bits may be shared: engine.validator.getShardOutQueueSize)
        assert getattr(back, f.attr) & ~used == getattr(obj, f.attr) & ~used
