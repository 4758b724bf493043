"""The examples in the knowledge docstrings run and give what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("module", ["groundv.knowledge", "groundv.knowledge.taxonomy",
                                    "groundv.knowledge.affordance", "groundv.knowledge.colour",
                                    "groundv.knowledge.spatial"])
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
