"""Every Lambda entry point that can trace does so without capturing its response or its errors: the key
provider's answers hold keys (clear or wrapped), key delivery's answers are keys. Read from the source, so a new
function or a refactor cannot bring Powertools' default (capture both) back unnoticed; the traced tests
(``test_tracing.py``, ``test_key_delivery_tracing.py``) show what reaches X-Ray."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

FUNCTIONS = sorted((Path(__file__).resolve().parents[2] / "functions").glob("*/app.py"))


def _tracer_calls(path: Path) -> list[ast.Call]:
    return [
        node
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in {"capture_lambda_handler", "capture_method"}
    ]


def test_there_are_functions_and_traced_ones():
    assert len(FUNCTIONS) >= 3
    assert sum(bool(_tracer_calls(p)) for p in FUNCTIONS) >= 2


@pytest.mark.parametrize("path", FUNCTIONS, ids=lambda p: p.parent.name)
def test_no_tracer_captures_responses_or_errors(path):
    for call in _tracer_calls(path):
        given = {kw.arg: kw.value for kw in call.keywords}
        for name in ("capture_response", "capture_error"):
            value = given.get(name)
            assert isinstance(value, ast.Constant) and value.value is False, (
                f"{path.parent.name}/app.py:{call.lineno}: {call.func.attr} needs {name}=False"
            )
