"""The ``initialize`` answer the edge gives before pygls is imported (``adapter.initialize_result``) is
the one pygls 2.1.1 gives for the same params: pygls itself is the oracle."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sidecar import __version__
from sidecar.rpc import adapter

EXPERIMENTAL = {"aliyun": {"sites": [{"name": "CN"}], "version": __version__}}

CLIENTS: dict[str, dict[str, Any]] = {
    "minimal": {"processId": None, "rootUri": None, "capabilities": {}},
    "vscode-like": {
        "processId": 4242,
        "clientInfo": {"name": "Visual Studio Code", "version": "1.101.0"},
        "rootUri": "file:///work/folder",
        "workspaceFolders": [{"uri": "file:///work/folder", "name": "folder"}],
        "capabilities": {
            "general": {"positionEncodings": ["utf-16"], "markdown": {"parser": "marked", "version": "1.1.0"}},
            "window": {"showDocument": {"support": True}, "workDoneProgress": True},
            "workspace": {"workspaceFolders": True, "configuration": True},
        },
        "initializationOptions": {"keepFresh": False},
        "trace": "off",
    },
    "utf-8 first": {"processId": 1, "rootUri": None, "capabilities": {"general": {"positionEncodings": ["utf-8", "utf-16"]}}},
    "utf-32 only": {"processId": 1, "rootUri": None, "capabilities": {"general": {"positionEncodings": ["utf-32"]}}},
    "unknown encodings": {"processId": 1, "rootUri": None, "capabilities": {"general": {"positionEncodings": ["latin-1"]}}},
    "no root": {"processId": 1, "capabilities": {"window": {"showDocument": {"support": False}}}},
}


def pygls_answer(params: dict[str, Any]) -> dict[str, Any]:
    """What the adapter answered when pygls built the answer: pygls' result with no document sync
    and our ``experimental``, serialised by pygls."""
    server = adapter._load_pygls("aliyun-sidecar", __version__)
    protocol = server.protocol
    message = protocol.structure_message({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params})
    steps = protocol.lsp_initialize(message.params)
    with pytest.raises(StopIteration) as done:
        next(steps)
    result = done.value.value
    result.capabilities.text_document_sync = None
    result.capabilities.notebook_document_sync = None
    result.capabilities.experimental = EXPERIMENTAL
    return json.loads(json.dumps(protocol._converter.unstructure(result)))


@pytest.mark.parametrize("params", CLIENTS.values(), ids=CLIENTS.keys())
def test_the_answer_is_the_one_pygls_gives(params: dict[str, Any]) -> None:
    assert adapter.initialize_result(params, EXPERIMENTAL, "aliyun-sidecar", __version__) == pygls_answer(params)


def test_the_module_imports_no_pygls_until_asked() -> None:
    """Importing the edge (and the whole JSON-RPC server) does not import pygls or lsprotocol: the
    point of answering ``initialize`` ourselves."""
    import subprocess
    import sys

    code = "import sys, sidecar.rpc.server; print(sorted(m for m in sys.modules if m.split('.')[0] in ('pygls', 'lsprotocol', 'cattrs')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("params", [None, [], {"capabilities": []}, {"processId": "1", "capabilities": {}}])
def test_params_pygls_would_refuse_are_refused(params: Any) -> None:
    assert adapter._initialize_problem(params) is not None
