"""The README's examples — the API reference's Python examples among them — run as written against
the real server, with only the base URL and the key changed (``CORIX_BASE_URL``, ``CORIX_API_KEY``,
and the placeholder key ``crx_your_api_key`` replaced)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import List, Tuple

import pytest

from corix_testing import FAKE_OUTPUT, CorixServer

README = Path(__file__).resolve().parents[1] / "README.md"

# Used only while the server has no POST /computers/{id}/prompt: the rest of the example still runs.
PROMPT_STUB = '''
import corix as _corix
def _prompt(self, model, task, **kw):
    return _corix.PromptResult(output="(no prompt endpoint on this server)", steps=[], stop_reason="done")
_corix.Computer.prompt = _prompt
'''


def blocks() -> List[Tuple[str, str]]:
    text = README.read_text()
    found: List[Tuple[str, str]] = []
    heading = "top"
    for match in re.finditer(r"^(#+ [^\n]*)$|^```python\n(.*?)^```", text, flags=re.M | re.S):
        if match.group(1):
            heading = re.sub(r"[^a-z0-9]+", "-", match.group(1).lstrip("# ").lower()).strip("-")
        else:
            found.append((heading, match.group(2)))
    return found


BLOCKS = blocks()


def test_the_spec_examples_are_in_the_readme() -> None:
    names = [name for name, _ in BLOCKS]
    assert names[:2] == ["quickstart", "usage"]
    quickstart, usage = BLOCKS[0][1], BLOCKS[1][1]
    assert 'computer = corix.create(os="linux", cpu=2, ram="8gb")' in quickstart
    assert 'client = corix.Client(api_key="crx_your_api_key")' in usage
    for line in ["computer.click(500, 300)", 'computer.type("Hello")', "computer.restart()", "computer.terminate()"]:
        assert line in usage


@pytest.mark.parametrize("name,code", BLOCKS, ids=[f"{i}-{name}" for i, (name, _) in enumerate(BLOCKS)])
def test_readme_example_runs(name: str, code: str, server: CorixServer, has_prompt: bool, tmp_path: Path) -> None:
    source = code.replace("crx_your_api_key", server.key)
    stubbed = ".prompt(" in code and not has_prompt
    if stubbed:
        source = PROMPT_STUB + source
    env = {
        **os.environ,
        "CORIX_API_KEY": server.key,
        "CORIX_BASE_URL": server.base_url,
        "CORIX_MODEL_API_KEY": "fake-model-key",
    }
    run = subprocess.run([sys.executable, "-c", source], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, f"README example {name} failed:\n{run.stdout}\n{run.stderr}"
    if ".prompt(" in code and "print(result.output)" in code and not stubbed:
        assert FAKE_OUTPUT in run.stdout
