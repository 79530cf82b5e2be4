"""Fuzzing decode → route → apply (issue 10): a short, deterministic run of the properties in
tests/fuzzing.py. bench/fuzz.py runs the same properties for as long as you like."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from sqlalchemy.engine import Engine

from tests.fuzzing import Target, decoder_targets, ingest_target

# Deterministic (derandomize: the same examples on every run), no example database written, and
# bounded so that each property takes a few seconds.
CI = settings(
    max_examples=500,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

DECODERS = decoder_targets()


def run(target: Target, config: settings) -> None:
    @config
    @given(target.strategy)
    def prop(case: Any) -> None:
        target.check(case)

    prop()


@pytest.mark.parametrize("name", sorted(DECODERS))
def test_decoder_answers_events_or_a_decode_error(name: str) -> None:
    target = DECODERS[name]
    run(target, CI)
    assert target.executions >= CI.max_examples


def test_every_message_of_a_batch_is_decoded_or_dead_lettered(engine: Engine) -> None:
    target = ingest_target(engine)
    run(target, settings(CI, max_examples=100))
    assert target.executions >= 100
