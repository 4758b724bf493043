"""Evaluation: items and predictions, and the gres, lisa, gsva and psalm protocols (METRICS.md).

:data:`PROTOCOLS` maps each name to its class; :func:`get_protocol` builds one with its options.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from groundv.errors import ConfigError
from groundv.eval.protocol import ALL, Protocol
from groundv.eval.records import Item, Prediction, read_items, read_jsonl, write_jsonl

__all__ = ["ALL", "PROTOCOLS", "Item", "Prediction", "Protocol", "get_protocol", "read_items", "read_jsonl",
           "write_jsonl"]

#: protocol name → "module:Class"
PROTOCOLS: dict[str, str] = {
    "gres": "groundv.eval.gres:GresProtocol",
    "lisa": "groundv.eval.lisa:LisaProtocol",
    "gsva": "groundv.eval.gsva:GsvaProtocol",
    "psalm": "groundv.eval.psalm:PsalmProtocol",
}


def get_protocol(name: str, **options: Any) -> Protocol:
    """A fresh protocol by name, e.g. ``get_protocol("gsva", refzom=True)``.

    Raises:
        ConfigError: unknown name or option.
    """
    target = PROTOCOLS.get(name)
    if target is None:
        raise ConfigError(f"unknown protocol {name!r}", hint=f"choose one of: {', '.join(PROTOCOLS)}")
    module, cls_name = target.split(":")
    cls = getattr(importlib.import_module(module), cls_name)
    accepted = set(inspect.signature(cls).parameters)
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise ConfigError(f"protocol {name!r} does not take {', '.join(unknown)}",
                          hint=f"its options: {', '.join(sorted(accepted)) or 'none'}")
    return cls(**options)
