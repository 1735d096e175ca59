"""``computer.prompt()`` end to end: the real server runs the agent loop against a fake model server.

Skipped while the server answers 404 for ``POST /computers/{id}/prompt`` (the endpoint is being added).
"""

from __future__ import annotations

from typing import List

import pytest

import corix
from corix_testing import FAKE_OUTPUT, FakeModel


@pytest.fixture
def needs_prompt(has_prompt: bool) -> None:
    if not has_prompt:
        pytest.skip("the server answers 404 for POST /computers/{id}/prompt: the endpoint is not there yet")


def test_prompt_returns_the_loops_result(needs_prompt: None, computer: corix.Computer, fake_model: FakeModel) -> None:
    before = len(fake_model.requests)
    result = computer.prompt(model="claude-sonnet-4-6", task="Take a screenshot, then say done", max_steps=5,
                             model_api_key="fake-model-key")
    assert len(fake_model.requests) > before, "the server did not call the fake model"
    assert FAKE_OUTPUT in result.output
    assert result.stop_reason == "done"
    assert result.usage.input_tokens > 0 and result.usage.output_tokens > 0
    assert len(result.steps) >= 1 and result.steps[0].action


def test_prompt_streams_steps(needs_prompt: None, computer: corix.Computer) -> None:
    steps: List[corix.PromptStep] = []
    result = computer.prompt(model="claude-sonnet-4-6", task="Take a screenshot, then say done", max_steps=5,
                             model_api_key="fake-model-key", on_step=steps.append)
    assert FAKE_OUTPUT in result.output and result.stop_reason == "done"
    assert [s.index for s in steps] == [s.index for s in result.steps]
    assert len(steps) >= 1
