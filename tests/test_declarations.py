"""One declaration per fact: the method table, the error classes and the small facts of
``sidecar/sites.py`` against the contract generated from them, and the copies a generator cannot
write (the extension's package.json) against their source.

``tests/test_contract.py`` checks the contract against docs/contract.md and the TypeScript; here the
contract is checked against what it is generated from, so that a stale file or a hand edit of a
generated one fails, and a declaration that leaves out a fact (an error kind without its own code)
fails before it reaches the contract.
"""

from __future__ import annotations

import gc
import json

import pytest

from contract import CONTRACT, generate
from sidecar import errors, sites
from sidecar.rpc.errors import EDGE
from sidecar.rpc.methods import METHODS

from .contract_schema import REPO


def test_every_generated_file_is_what_its_declarations_give(capsys: pytest.CaptureFixture[str]) -> None:
    assert generate.main(["--check"]) == 0, capsys.readouterr().err


def test_the_contract_has_exactly_the_methods_of_the_table_with_their_params_and_results() -> None:
    assert list(CONTRACT["methods"]) == list(METHODS)
    for name, method in METHODS.items():
        spec = CONTRACT["methods"][name]
        assert spec["params"]["properties"] == {k: p.schema for k, p in method.params.items()}, name
        assert spec["params"].get("required", []) == [k for k, p in method.params.items() if p.required], name
        assert spec["result"] == method.result, name
        assert method.doc.strip(), f"{name} has no documentation"


def test_a_required_param_is_checked_as_required() -> None:
    """A param the contract calls required must be refused when absent (else the contract lies)."""
    for name, method in METHODS.items():
        for key, param in method.params.items():
            if param.required:
                with pytest.raises(errors.InvalidParams):
                    param.check({}, key)
            else:
                param.check({}, key)  # absent is fine


def test_every_kind_is_declared_whole_by_the_class_that_introduces_it() -> None:
    """A kind that inherited its code would answer -32603 (internal's) without anyone noticing."""
    for kind, cls in errors.contract_kinds().items():
        own = vars(cls)
        assert "code" in own and "meaning" in own, f"{cls.__name__} ({kind}) must declare its own code and meaning"
        assert set(cls.required) <= set(cls.data), kind
        assert cls.level in (errors.INFO, errors.WARNING, errors.ERROR), kind
    assert not set(errors.contract_kinds()) & set(EDGE), "a kind is declared by the domain and the edge"


def test_a_kind_a_test_defines_for_itself_stays_out_of_the_contract() -> None:
    class Throwaway(errors.SidecarError):
        kind = "throwawayKindOfThisTest"

    try:
        assert "throwawayKindOfThisTest" in errors.kinds()
        assert "throwawayKindOfThisTest" not in errors.contract_kinds()
        assert generate._errors() == CONTRACT["errors"]
    finally:
        del Throwaway
        gc.collect()  # gone from SidecarError.__subclasses__() before any other test asks
    assert "throwawayKindOfThisTest" not in errors.kinds()


def test_the_contract_has_exactly_the_declared_kinds_with_their_codes_and_data() -> None:
    declared = {kind: (cls.code, cls.data, list(cls.required)) for kind, cls in errors.contract_kinds().items()}
    declared |= {kind: (edge.code, {}, []) for kind, edge in EDGE.items()}
    found = {kind: (spec["code"], spec["data"], spec.get("required", [])) for kind, spec in CONTRACT["errors"].items()}
    assert found == declared


def test_the_default_site_is_the_first_of_the_table_and_in_the_contract() -> None:
    assert sites.site_names()[0] == sites.DEFAULT_SITE
    assert CONTRACT["$defs"]["Site"]["default"] == sites.DEFAULT_SITE


def test_the_callback_port_bounds_are_the_sidecars_in_the_contract_and_in_the_settings() -> None:
    ports = CONTRACT["$defs"]["InitializationOptions"]["properties"]["callbackPorts"]
    bounds = (sites.CALLBACK_PORT_MIN, sites.CALLBACK_PORT_MAX)
    assert [(p["minimum"], p["maximum"]) for p in ports["prefixItems"]] == [bounds, bounds]
    assert ports["default"] == list(sites.DEFAULT_CALLBACK_PORTS)
    package = json.loads((REPO / "vscode-extension" / "package.json").read_text(encoding="utf-8"))
    setting = next(
        section["properties"]["aliyun.callbackPorts"]
        for section in package["contributes"]["configuration"]
        if "aliyun.callbackPorts" in section["properties"]
    )
    assert (setting["items"]["minimum"], setting["items"]["maximum"]) == bounds
    assert setting["default"] == list(sites.DEFAULT_CALLBACK_PORTS)
    with pytest.raises(errors.InvalidParams):
        sites.check_ports([sites.CALLBACK_PORT_MIN - 1, sites.CALLBACK_PORT_MIN])
    assert sites.check_ports([sites.CALLBACK_PORT_MIN, sites.CALLBACK_PORT_MIN]) == (sites.CALLBACK_PORT_MIN,) * 2


def test_the_generated_files_say_they_are_generated() -> None:
    assert CONTRACT["$comment"].startswith("GENERATED")
    doc = generate.DOC.read_text(encoding="utf-8")
    for name in generate.BLOCKS:
        assert doc.count(f"<!-- generated: {name} ") == 1 and doc.count(f"<!-- end of generated: {name} -->") == 1
