"""The sidecar's layers, as a test: every import of every module under ``sidecar/`` (read with ``ast``,
so imports inside functions and under ``TYPE_CHECKING`` count too) points down the table below, or
stays in its own layer.

The order is the one the code follows: values and data at the bottom, the shared config file, the
OAuth flow, the credentials it keeps alive, the JSON of the contract and of the SDKs (``wire``: it
knows the domain's values, not the service; and only the values: it may not reach up into the OAuth
client or the credentials package, see ``VALUES_ONLY``), the credentials endpoint (an edge the SDKs call: the
composition root hands it a source, so it knows nothing of the service), the service that ties the
domain together, the app (the composition root), then JSON-RPC and the CLI. The edges reach the
domain through the service and the app only (never the OAuth client or the credentials package
directly: e.g. refresh margins come with the service's settings). pygls is used in one module only,
and the emulator (a test tool, not shipped) is never imported.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SIDECAR = Path(__file__).resolve().parent.parent / "sidecar"

#: Lowest first. A module belongs to the layer of its longest matching name (a module, or a package
#: and everything in it; ``sidecar`` itself is only the package's ``__init__``, ``__version__``); it
#: may import its own layer and the layers before it.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("values and data", ("sidecar", "sidecar.errors", "sidecar.tokens", "sidecar.timing", "sidecar.sites",
                         "sidecar.asyncutil", "sidecar.logs", "sidecar.platform", "sidecar.schema")),
    ("loopback HTTP", ("sidecar.loopback",)),
    ("config file", ("sidecar.config",)),
    ("OAuth", ("sidecar.oauth",)),
    ("credentials", ("sidecar.credentials",)),
    ("wire", ("sidecar.wire",)),
    ("credentials endpoint", ("sidecar.credentials.endpoint",)),
    ("service", ("sidecar.service",)),
    ("app", ("sidecar.app",)),
    ("edges", ("sidecar.rpc", "sidecar.cli", "sidecar.mcp")),
    ("entry point", ("sidecar.__main__",)),
)

#: Third-party or repository packages only some modules may import.
ONLY_IN = {
    "pygls": {"sidecar.rpc.adapter"},
    "lsprotocol": {"sidecar.rpc.adapter"},
    "emulator": set(),  # a test tool: the wheel and the VSIX do not carry it
    "tests": set(),
    "benchmarks": set(),
}


#: Modules that may import the bottom layer ("values and data") only, wherever they sit in the table.
VALUES_ONLY = ("sidecar.wire",)

#: The edges and what they may not import although it lies below them: they reach the domain through
#: the service and the app.
EDGES = ("sidecar.rpc", "sidecar.cli")
AROUND_THE_SERVICE = ("sidecar.oauth", "sidecar.credentials")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SIDECAR.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str) -> bool:
    path = SIDECAR.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def imports_of(source: str, module: str, *, package: bool = False) -> set[str]:
    """Absolute names of everything ``module`` imports: ``from .x import y`` gives ``pkg.x``, and
    ``pkg.x.y`` too when ``y`` is a module."""
    here = module if package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            parts = here.split(".")[: len(here.split(".")) - node.level + 1] if node.level else []
            base = ".".join(parts + ([node.module] if node.module else []))
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names if is_module(f"{base}.{a.name}"))
    return found


def layer_of(module: str) -> int:
    best: tuple[int, int] | None = None  # (length of the matching name, layer)
    for index, (_label, names) in enumerate(LAYERS):
        for prefix in names:
            inside = module == prefix or (prefix != "sidecar" and module.startswith(prefix + "."))
            if inside and (best is None or len(prefix) > best[0]):
                best = (len(prefix), index)
    if best is None:
        raise AssertionError(f"{module} is in no layer: add it to LAYERS")
    return best[1]


def upward_imports(modules: dict[str, set[str]]) -> list[str]:
    found = []
    for module, imported in sorted(modules.items()):
        ceiling = 0 if module in VALUES_ONLY else layer_of(module)
        for target in sorted(imported):
            if target.split(".")[0] != "sidecar":
                continue
            if layer_of(target) > ceiling:
                found.append(f"{module} ({LAYERS[layer_of(module)][0]}) imports {target} ({LAYERS[layer_of(target)][0]})")
    return found


def forbidden_imports(modules: dict[str, set[str]]) -> list[str]:
    return [
        f"{module} imports {target}"
        for module, imported in sorted(modules.items())
        for target in sorted(imported)
        if target.split(".")[0] in ONLY_IN and module not in ONLY_IN[target.split(".")[0]]
    ]


def around_the_service(modules: dict[str, set[str]]) -> list[str]:
    def inside(name: str, prefixes: tuple[str, ...]) -> bool:
        return any(name == p or name.startswith(p + ".") for p in prefixes)

    return [
        f"{module} imports {target}"
        for module, imported in sorted(modules.items())
        if inside(module, EDGES)
        for target in sorted(imported)
        if inside(target, AROUND_THE_SERVICE)
    ]


@pytest.fixture(scope="module")
def modules() -> dict[str, set[str]]:
    return {
        module_name(path): imports_of(path.read_text(encoding="utf-8"), module_name(path), package=path.name == "__init__.py")
        for path in sorted(SIDECAR.rglob("*.py"))
    }


def test_every_module_has_a_layer(modules: dict[str, set[str]]) -> None:
    for module in modules:
        layer_of(module)
    with pytest.raises(AssertionError, match="in no layer"):
        layer_of("sidecar.newcomer")


def test_every_import_points_down_the_layers(modules: dict[str, set[str]]) -> None:
    assert upward_imports(modules) == []


def test_the_edges_reach_the_domain_through_the_service(modules: dict[str, set[str]]) -> None:
    assert around_the_service(modules) == []


def test_pygls_stays_in_the_adapter_and_the_emulator_out_of_the_product(modules: dict[str, set[str]]) -> None:
    assert forbidden_imports(modules) == []
    assert "pygls.lsp.server" in modules["sidecar.rpc.adapter"]  # the check sees real imports


def test_the_checks_catch_an_arrow_running_up() -> None:
    """The same checks, on imports the real tree must not have (so they cannot pass vacuously)."""
    source = "def later():\n    from ..wire import to_json\n    from . import locks\n    import lsprotocol.types\n"
    found = imports_of(source, "sidecar.config.store")
    assert {"sidecar.wire", "sidecar.config", "sidecar.config.locks", "lsprotocol.types"} <= found
    assert upward_imports({"sidecar.config.store": found}) == [
        "sidecar.config.store (config file) imports sidecar.wire (wire)"
    ]
    assert forbidden_imports({"sidecar.config.store": found}) == ["sidecar.config.store imports lsprotocol.types"]
    assert upward_imports({"sidecar.credentials.refresher": {"sidecar.service"}})
    assert upward_imports({"sidecar.credentials.keeper": {"sidecar.credentials.endpoint"}})
    assert upward_imports({"sidecar.credentials.endpoint": {"sidecar.service"}})
    assert upward_imports({"sidecar.wire": {"sidecar.app"}})
    # wire sits on the values: the OAuth client's time format and the credentials' identity are below it.
    assert upward_imports({"sidecar.wire": {"sidecar.oauth.client"}})
    assert upward_imports({"sidecar.wire": {"sidecar.credentials.identity"}})
    assert upward_imports({"sidecar.wire": {"sidecar.tokens", "sidecar.sites"}}) == []
    assert around_the_service({"sidecar.rpc.options": {"sidecar.credentials.refresher", "sidecar.service"}}) == [
        "sidecar.rpc.options imports sidecar.credentials.refresher"
    ]
    assert around_the_service({"sidecar.cli": {"sidecar.oauth.client"}}) == ["sidecar.cli imports sidecar.oauth.client"]
    assert around_the_service({"sidecar.app": {"sidecar.credentials.keeper"}}) == []
    assert upward_imports({"sidecar.oauth.client": {"sidecar.rpc.errors"}})
    assert upward_imports({"sidecar.credentials.endpoint": {"sidecar.wire", "sidecar.credentials.refresher"}}) == []
    assert forbidden_imports({"sidecar.service": {"pygls.protocol"}, "sidecar.app": {"emulator"}}) == [
        "sidecar.app imports emulator",
        "sidecar.service imports pygls.protocol",
    ]
