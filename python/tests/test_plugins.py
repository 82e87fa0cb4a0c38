"""Backends, plugins on the search path, errors, and hostile plugins, each
in an interpreter of its own (see conftest.Sandbox)."""

import os

import pytest

import wildsort
from conftest import compile_plugin

LISTING = """
import json, wildsort
print(json.dumps({"backends": wildsort.backends(), "refused": wildsort.refused(),
                  "shadowed": wildsort.shadowed(), "features": wildsort.features(),
                  "sorted": wildsort.sort([3, 1, 2])}))
"""


def test_the_shipped_backends_are_built_in_and_listed_as_the_command_lists_them():
    rows = {b["name"]: b for b in wildsort.backends()}
    assert list(rows) == ["radix", "std", "wildsort"]
    for name, module in [("radix", "wildsort_radix"), ("std", "wildsort_std"), ("wildsort", "wildsort")]:
        row = rows[name]
        assert row["module"] == module
        assert row["file"] is None and row["origin"] == "built-in"
        assert row["key_types"] == ["u32", "u64", "i32", "i64", "f32", "f64"]
        assert row["available"] is True and row["unavailable_reason"] is None
        assert row["abi"] == "1.3" and row["pairs"] is True
        assert row["from_source"] is (name == "radix")
    assert rows["radix"]["default_for"] == ["u32", "u64", "i32", "i64", "f32", "f64"]
    assert rows["wildsort"]["stable"] is True
    assert set(wildsort.features()) == {"wildsort_radix", "wildsort_std", "wildsort"}


def test_an_unknown_backend_names_the_available_ones():
    with pytest.raises(wildsort.BackendNotFound) as caught:
        wildsort.sort([1, 2], backend="gpu")
    err = caught.value
    assert isinstance(err, wildsort.PluginError) and isinstance(err, wildsort.Error)
    assert str(err).startswith("no backend named `gpu`\n  cause: the backends here: radix, std, wildsort\n  help: ")
    assert err.cause == "the backends here: radix, std, wildsort"
    assert "WILDHOST_PLUGIN_PATH" in err.help
    assert "did you mean" not in err.help
    with pytest.raises(wildsort.BackendNotFound):
        wildsort.argsort([1.0], backend="nope")


def test_a_misspelt_backend_gets_the_nearest_name():
    with pytest.raises(wildsort.BackendNotFound) as caught:
        wildsort.sort([1, 2], backend="radx")
    assert caught.value.help.startswith("did you mean `radix`? or pass one of them as backend=")


def test_a_module_qualified_name_reaches_its_backend():
    assert wildsort.sort([2, 1], backend="wildsort_std.std") == [1, 2]


def test_the_hierarchy_of_errors():
    assert issubclass(wildsort.PluginError, wildsort.Error)
    assert issubclass(wildsort.BackendNotFound, wildsort.PluginError)
    assert issubclass(wildsort.BackendUnavailable, wildsort.PluginError)
    assert issubclass(wildsort.SortError, wildsort.Error)
    assert issubclass(wildsort.UnsupportedKeyType, wildsort.SortError)
    assert issubclass(wildsort.Error, Exception)


def test_a_user_plugin_is_found_and_sorts(sandbox):
    path = compile_plugin(sandbox.plugins, "wildsort_extra")
    out = sandbox.run("""
        import json, wildsort
        row = [b for b in wildsort.backends() if b["name"] == "hostile"][0]
        print(json.dumps({"row": row, "sorted": wildsort.sort([2**63, 5, 1], backend="hostile")}))
    """)
    assert out["row"]["file"] == str(path) and out["row"]["origin"] == "file"
    assert out["row"]["module"] == "wildsort_extra" and out["row"]["key_types"] == ["u64"]
    assert out["sorted"] == [1, 5, 2**63]


def test_a_plugin_in_wildhost_plugin_path_is_found(sandbox):
    other = sandbox.root / "elsewhere"
    compile_plugin(other, "wildsort_elsewhere")
    out = sandbox.run(LISTING, WILDHOST_PLUGIN_PATH=str(other))
    assert [b["name"] for b in out["backends"]] == ["radix", "std", "wildsort", "hostile"]


def test_a_backend_of_another_key_type_is_refused_with_the_types_it_sorts(sandbox):
    compile_plugin(sandbox.plugins, "wildsort_extra")
    out = sandbox.run("""
        import json, wildsort
        try:
            wildsort.sort([1.5, 0.5], backend="hostile")
        except wildsort.UnsupportedKeyType as e:
            print(json.dumps([str(e), e.cause, e.help]))
    """)
    assert out[0].startswith("backend `hostile` does not sort f64 keys")
    assert out[1] == "it sorts u64"
    assert "radix, std, wildsort" in out[2]


def test_an_unavailable_backend_says_why(sandbox):
    compile_plugin(sandbox.plugins, "wildsort_frob", "INIT_UNAVAILABLE")
    out = sandbox.run("""
        import json, wildsort
        row = [b for b in wildsort.backends() if b["name"] == "hostile"][0]
        try:
            wildsort.sort([1, 2], backend="hostile")
        except wildsort.BackendUnavailable as e:
            print(json.dumps({"row": row, "error": str(e), "cause": e.cause,
                              "default": wildsort.sort([2, 1])}))
    """)
    assert out["row"]["available"] is False
    assert out["row"]["unavailable_reason"] == "no FROB unit on this machine"
    assert out["cause"] == "no FROB unit on this machine"
    assert out["error"].startswith("backend `hostile` (module `wildsort_frob`, ")
    assert "cannot run here" in out["error"]
    assert out["default"] == [1, 2]


@pytest.mark.parametrize("case", ["INIT_SEGFAULTS", "INIT_ABORTS", "INIT_EXITS"])
def test_a_plugin_that_crashes_while_loading_is_refused_and_the_interpreter_lives(sandbox, case):
    compile_plugin(sandbox.plugins, "wildsort_crash", case)
    out = sandbox.run(LISTING)
    assert out["sorted"] == [1, 2, 3]
    assert [b["name"] for b in out["backends"]] == ["radix", "std", "wildsort"]
    [refused] = out["refused"]
    assert refused["module"] == "wildsort_crash"
    assert refused["refusal"]["stage"] == "scan"
    # Opened by the scanner's child only: the interpreter never loaded it.
    assert sandbox.opened() == ["wildsort_crash"]


def test_files_that_are_no_plugins_are_refused_before_any_code_runs(sandbox):
    sandbox.plugins.mkdir(parents=True)
    (sandbox.plugins / "libwildsort_text.so").write_text("#!/bin/sh\necho hello\n")
    compile_plugin(sandbox.plugins, "wildsort_wrongname", "NAME_MISMATCH")
    out = sandbox.run(LISTING)
    stages = {r["module"]: r["refusal"]["stage"] for r in out["refused"]}
    assert stages["wildsort_text"] == "preflight"
    assert stages["wildsort_wrongname"] in ("scan", "validation")
    assert out["sorted"] == [1, 2, 3]


def test_a_plugin_others_can_write_is_refused(sandbox):
    path = compile_plugin(sandbox.plugins, "wildsort_open")
    os.chmod(path, 0o777)
    out = sandbox.run(LISTING)
    [refused] = out["refused"]
    assert refused["refusal"]["stage"] == "discovery"
    assert "writable" in refused["refusal"]["cause"]
    assert sandbox.opened() == []


def test_a_file_named_like_a_built_in_is_shadowed_and_never_opened(sandbox):
    path = compile_plugin(sandbox.plugins, "wildsort_radix", "INIT_SEGFAULTS")
    out = sandbox.run(LISTING)
    assert out["shadowed"] == [{"path": str(path), "module": "wildsort_radix", "by": "<built-in>"}]
    assert out["refused"] == []
    assert sandbox.opened() == []
    assert out["sorted"] == [1, 2, 3]
