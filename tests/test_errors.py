"""groundv's errors survive pickling (Ray actors and worker processes send them to the driver)."""

from __future__ import annotations

import pickle

import pytest

from groundv.engine.failures import EngineStopped, TeacherRefused, TeacherUnavailable, TransientFailure
from groundv.engine.ledger import BudgetExhausted
from groundv.errors import ConfigError, InputError, MaskError, MissingDependency

UNAVAILABLE = TeacherUnavailable("http://h/v1", 4, TransientFailure("http://h/v1", 503, "busy"))

ERRORS = [
    UNAVAILABLE,
    TeacherRefused("http://h/v1", 404, "no such model"),
    EngineStopped(UNAVAILABLE),
    InputError("unknown category id 9", file="a.json", where="annotation 7", hint="fix it"),
    MaskError("bad RLE", file="b.json", where="annotation 3"),
    ConfigError("bad flag", hint="use --x"),
    MissingDependency("ray", "the Ray executor", "ray"),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
def test_an_error_arrives_whole_after_pickling(error):
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is type(error)
    assert (str(back), back.hint, back.args) == (str(error), error.hint, error.args)
    assert {k: str(v) for k, v in vars(back).items()} == {k: str(v) for k, v in vars(error).items()}


def test_a_budget_stop_arrives_whole_after_pickling():
    error = BudgetExhausted("spent $1.00 of --max-cost 1.00")
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is BudgetExhausted and str(back) == str(error)


def test_an_engine_stop_carries_its_cause():
    back = pickle.loads(pickle.dumps(EngineStopped(UNAVAILABLE)))
    assert isinstance(back.why, TeacherUnavailable) and back.why.status == 503 and not back.why.answer_unusable
    assert "the run is stopping" in str(back) and "503" in str(back)
