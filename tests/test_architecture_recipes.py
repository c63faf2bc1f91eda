"""The "How to add …" recipes of docs/architecture.md are true: each lists exactly the files to touch.

For a method and an error kind, a copy of the repository gets the change in the recipe's hand-written
files only; then the generator runs, and the test checks that the files that changed are exactly the
recipe's (the generated ones among them), that the extension still compiles, and that the contract
tests pass in the copy. For an error kind it also checks that the second hand-written file is needed:
without its sentence the extension does not compile. For a site and a setting, the checks are the
ones that can be made: what the generator writes (nothing, for a site) and where the existing
sites' and settings' facts live.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from contract import CONTRACT
from sidecar import sites

from .conftest import posix_only
from .contract_schema import REPO

DOC = REPO / "docs" / "architecture.md"
EXTENSION = REPO / "vscode-extension"
IGNORED = shutil.ignore_patterns(
    ".git", ".venv", "node_modules", "out", ".hypothesis", "__pycache__", "*.egg-info", "dist", "build",
    ".pytest_cache", "bundled", ".tools", ".cache", "artifacts",
)


def recipes() -> dict[str, dict[str, list[str]]]:
    """``{"a method": {"hand": [...], "generated": [...]}, ...}`` from the doc's ``### … <what>`` sections."""
    text = DOC.read_text(encoding="utf-8")
    found: dict[str, dict[str, list[str]]] = {}
    for match in re.finditer(r"^### … (.+?)\n(.*?)(?=^##|\Z)", text, re.M | re.S):
        lists: dict[str, list[str]] = {"hand": [], "generated": []}
        current = None
        for line in match.group(2).splitlines():
            if line.startswith("Hand-written files"):
                current = "hand"
            elif line.startswith("Generated files"):
                current = "generated"
            elif current and (item := re.match(r"- `([^`]+)`", line)):
                lists[current].append(item.group(1))
        found[match.group(1)] = lists
    return found


RECIPES = recipes()


def test_the_doc_has_the_four_recipes_and_every_file_it_names_exists() -> None:
    assert set(RECIPES) == {"a method", "an error kind", "a site", "a setting"}
    for what, lists in RECIPES.items():
        assert lists["hand"], what
        for path in lists["hand"] + lists["generated"]:
            assert (REPO / path).is_file(), f"{what}: {path} does not exist"
    assert len(RECIPES["a method"]["hand"]) <= 2 and len(RECIPES["an error kind"]["hand"]) <= 2


# ------------------------------------------------------------------------------- a copy to change


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file's bytes (a symlinked folder, node_modules, is not entered)."""
    found = {}
    for folder, _dirs, names in os.walk(root):
        for name in names:
            path = Path(folder, name)
            found[path.relative_to(root).as_posix()] = path.read_bytes()
    return found


def changed(before: dict[str, bytes], root: Path) -> set[str]:
    after = snapshot(root)
    return {path for path in before.keys() | after.keys() if before.get(path) != after.get(path)}


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(REPO, root, ignore=IGNORED)
    return root


def link_packages(root: Path) -> None:
    """The extension's installed packages, for the compiler (a link: too many files to copy)."""
    if not (EXTENSION / "node_modules").is_dir():
        pytest.skip("the extension's packages are not installed (npm ci in vscode-extension/)")
    (root / "vscode-extension" / "node_modules").symlink_to(EXTENSION / "node_modules", target_is_directory=True)


def run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A command in the copy, its own ``sidecar`` and ``contract`` first on the path."""
    env = {**os.environ, "PYTHONPATH": str(root), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(args, cwd=root, env=env, capture_output=True, text=True, timeout=600)


def generate(root: Path) -> None:
    done = run(root, sys.executable, "-m", "contract.generate")
    assert done.returncode == 0, done.stderr[-2000:]


def compiles(root: Path) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    tsc = root / "vscode-extension" / "node_modules" / "typescript" / "bin" / "tsc"
    if node is None or not tsc.exists():
        pytest.skip("node or the extension's packages (npm ci in vscode-extension/) are not installed")
    return run(root, node, str(tsc), "--noEmit", "-p", "vscode-extension")


def contract_tests_pass(root: Path) -> None:
    done = run(root, sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_contract.py", "tests/test_declarations.py")
    assert done.returncode == 0, done.stdout[-3000:]


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{path}: {old!r}"
    path.write_text(text.replace(old, new), encoding="utf-8")


# ------------------------------------------------------------------------------- the recipes


PROBE_KIND = '''

class RecipeProbe(SidecarError):
    kind = "recipeProbe"
    code = -32099
    next_step = "nothing: tests/test_architecture_recipes.py added it"
    data = {"probe": S.string("a field of the probe")}
    required = ("probe",)
    meaning = "a kind added by tests/test_architecture_recipes.py"
'''


PROBE_METHOD = '''

METHODS["aliyun/recipeProbe"] = Method(
    _list_profiles,
    S.ref("ProfileList"),
    "A method added by tests/test_architecture_recipes.py.",
    {"name": required_string("a param of the probe")},
)
'''


def add_kind(root: Path) -> None:
    errors_py = root / "sidecar" / "errors.py"
    errors_py.write_text(errors_py.read_text(encoding="utf-8") + PROBE_KIND, encoding="utf-8")


def add_sentence(root: Path) -> None:
    errors_ts = root / "vscode-extension" / "src" / "model" / "errorModel.ts"
    edit(errors_ts, "  internal,\n  invalidParams,\n", "  internal,\n  recipeProbe: internal,\n  invalidParams,\n")


def add_method(root: Path) -> None:
    methods_py = root / "sidecar" / "rpc" / "methods.py"
    methods_py.write_text(methods_py.read_text(encoding="utf-8") + PROBE_METHOD, encoding="utf-8")


@pytest.mark.slow
def test_an_error_kind_is_its_class_and_its_sentence(copy: Path) -> None:
    recipe = RECIPES["an error kind"]
    before = snapshot(copy)
    add_kind(copy)
    add_sentence(copy)
    generate(copy)
    assert changed(before, copy) == set(recipe["hand"]) | set(recipe["generated"])
    contract = json.loads((copy / "contract" / "aliyun-sidecar.contract.json").read_text(encoding="utf-8"))
    assert contract["errors"]["recipeProbe"]["code"] == -32099
    assert "| `recipeProbe` | -32099 | `probe` |" in (copy / "docs" / "contract.md").read_text(encoding="utf-8")
    contract_tests_pass(copy)


@pytest.mark.slow
def test_a_method_is_its_entry_in_the_table(copy: Path) -> None:
    recipe = RECIPES["a method"]
    before = snapshot(copy)
    add_method(copy)
    generate(copy)
    touched = changed(before, copy)
    assert touched <= set(recipe["hand"]) | set(recipe["generated"]), touched
    assert set(recipe["generated"]) <= touched, "a generated file did not change"
    assert "sidecar/rpc/methods.py" in touched and "sidecar/service.py" not in touched  # an existing use case served
    assert "### `aliyun/recipeProbe` `{name: string}` → `ProfileList`" in (copy / "docs" / "contract.md").read_text(encoding="utf-8")
    assert "recipeProbe: 'aliyun/recipeProbe'," in (copy / "vscode-extension" / "src" / "model" / "contract.ts").read_text(encoding="utf-8")
    contract_tests_pass(copy)
    fuzzed = run(copy, sys.executable, "-c", "from tests.test_bad_input import METHODS; print(METHODS['aliyun/recipeProbe'])")
    assert fuzzed.returncode == 0 and fuzzed.stdout.strip() == "['name']", fuzzed.stderr[-2000:]


@posix_only  # links the extension's packages into the copy
@pytest.mark.slow
def test_the_extension_compiles_after_both_recipes_and_not_without_the_kinds_sentence(copy: Path) -> None:
    link_packages(copy)
    add_kind(copy)
    add_method(copy)
    generate(copy)
    failed = compiles(copy)
    assert failed.returncode != 0, "a kind without its sentence compiled"
    errors = [line for line in failed.stdout.splitlines() if "error TS" in line]
    assert errors and all("errorModel.ts" in line and "recipeProbe" in line for line in errors), failed.stdout[-2000:]
    add_sentence(copy)
    done = compiles(copy)
    assert done.returncode == 0, done.stdout[-2000:]


@pytest.mark.slow
def test_a_site_is_its_entry_in_the_table_and_in_the_emulators_registry(copy: Path) -> None:
    recipe = RECIPES["a site"]
    assert recipe["generated"] == []
    before = snapshot(copy)
    probe_site = 'Site("YY", "Probe site (example.test)", "https://signin.example.test", "https://oauth.example.test", "4242")'
    edit(copy / "sidecar" / "sites.py", "    )\n}\n", f"        {probe_site},\n    )\n}}\n")
    edit(copy / "emulator" / "state.py", '"4103531455503354461": "INTL"}', '"4103531455503354461": "INTL", "4242": "YY"}')
    generate(copy)
    assert changed(before, copy) == set(recipe["hand"])
    probe = (
        "from emulator import CLIENTS; from sidecar import sites, wire; from sidecar.__main__ import _parser\n"
        "assert {s.client_id: s.name for s in sites.PRODUCTION_SITES.values()} == CLIENTS\n"
        "assert _parser().parse_args(['signin', '--profile', 'p', '--site', 'yy']).site == 'YY'\n"
        "assert [s['name'] for s in wire.aliyun_capabilities(sites.Endpoints(), '0')['sites']] == ['CN', 'INTL', 'YY']\n"
    )
    done = run(copy, sys.executable, "-c", probe)
    assert done.returncode == 0, done.stderr[-2000:]


def test_a_sites_facts_live_only_in_the_site_recipes_files() -> None:
    """Each official site's client id is in the table and the emulator's registry, and in no other
    shipped or hand-written source (tests and their fixtures aside)."""
    roots = ["sidecar", "emulator", "contract", "docs", "vscode-extension/src", "vscode-extension/package.json", "README.md"]
    files = [p for r in roots for p in ([REPO / r] if (REPO / r).is_file() else (REPO / r).rglob("*")) if p.is_file() and "__pycache__" not in p.parts]
    for site in sites.PRODUCTION_SITES.values():
        holders = {p.relative_to(REPO).as_posix() for p in files if site.client_id in p.read_text(encoding="utf-8", errors="replace")}
        assert holders == set(RECIPES["a site"]["hand"]), site.name


def test_every_sidecar_setting_is_in_each_file_of_the_setting_recipe() -> None:
    """Each initialization option the extension has a setting for is named in every hand-written file
    of the recipe (``service.py`` aside: its ``Settings`` take only what the service uses)."""
    package = json.loads((EXTENSION / "package.json").read_text(encoding="utf-8"))
    setting_keys = [k for section in package["contributes"]["configuration"] for k in section["properties"]]
    options = CONTRACT["$defs"]["InitializationOptions"]["properties"]
    with_setting = [o for o in options if any(k == f"aliyun.{o}" or k.endswith(f".{o}") or k.startswith(f"aliyun.{o}.") for k in setting_keys)]
    assert {"configPath", "endpoints", "callbackPorts", "keepFresh", "logLevel"} <= set(with_setting)
    for path in RECIPES["a setting"]["hand"]:
        if path == "sidecar/service.py":
            continue
        text = (REPO / path).read_text(encoding="utf-8")
        missing = [o for o in with_setting if o not in text]
        assert not missing, f"{path} does not name {missing}"


@pytest.mark.slow
def test_an_initialization_option_is_types_json_and_its_row_in_the_doc(copy: Path) -> None:
    """The contract's part of the setting recipe: the option in types.json is generated into the
    contract and contract.ts; the doc's initialize table is hand-written, and checked."""
    recipe = RECIPES["a setting"]
    before = snapshot(copy)
    edit(
        copy / "contract" / "types.json",
        '"keepFresh": {"type": "boolean",',
        '"recipeProbe": {"type": "boolean", "description": "a probe"},\n        "keepFresh": {"type": "boolean",',
    )
    generate(copy)
    touched = changed(before, copy)
    assert touched == {"contract/types.json"} | set(recipe["generated"])
    assert set(recipe["generated"]) <= set(RECIPES["a method"]["generated"])
    failing = run(copy, sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_contract.py")
    assert failing.returncode != 0 and "initialization_options" in failing.stdout
    edit(copy / "docs" / "contract.md", "| `keepFresh` |", "| `recipeProbe` | boolean | a probe |\n| `keepFresh` |")
    contract_tests_pass(copy)
    assert {"contract/types.json", "docs/contract.md"} <= set(recipe["hand"])
