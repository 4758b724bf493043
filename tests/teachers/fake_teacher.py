"""Answer callbacks for :class:`groundv.engine.fakeserver.FakeServer` that play an LLM teacher.

They read what groundv asked from the request body (OpenAI or Anthropic shape) and answer like a
teacher would: :func:`correct` copies each plan's targets and subtype and words its facts,
:func:`wrong` names a region id no scene has, :func:`paraphrase` rewrites the rules teacher's draft.
"""

from __future__ import annotations

import json
from typing import Any

UNKNOWN_ID = 987654321


def user_texts(body: dict[str, Any]) -> list[str]:
    """The text of every user message, in order (both wire shapes; image parts skipped)."""
    texts = []
    for message in body.get("messages", []):
        if message["role"] != "user":
            continue
        content = message["content"]
        if isinstance(content, str):
            texts.append(content)
        else:
            texts.append("\n".join(p["text"] for p in content if p.get("type") == "text"))
    return texts


def images(body: dict[str, Any]) -> list[str]:
    """The base64 data of every image in the request (both wire shapes)."""
    found = []
    for message in body.get("messages", []):
        if isinstance(message["content"], list):
            for part in message["content"]:
                if part.get("type") == "image_url":
                    found.append(part["image_url"]["url"].split(",", 1)[1])
                elif part.get("type") == "image":
                    found.append(part["source"]["data"])
    return found


def asked(body: dict[str, Any]) -> tuple[list[dict[str, Any]], bool]:
    """The plans of the last question (the feedback turn is skipped) and whether it was a batch."""
    for text in reversed(user_texts(body)):
        if "\n\nPlans (answer each, in order):\n" in text:
            return json.loads(text.split("\n\nPlans (answer each, in order):\n", 1)[1]), True
        if "\n\nPlan:\n" in text:
            return [json.loads(text.split("\n\nPlan:\n", 1)[1])], False
    raise AssertionError("no plan in the request")


def _reply(items: list[dict[str, Any]], batch: bool) -> str:
    return json.dumps({"samples": items} if batch else items[0])


def word(plan: dict[str, Any]) -> dict[str, Any]:
    """A correct answer to one plan: its targets and subtype, its facts spelled out."""
    facts = ", ".join(f"{k} {v}" for k, v in sorted(plan["facts"].items()))
    answer = {"instruction": f"Segment what has {plan['subtype']}: {facts}.", "response": f"Done: {facts}.",
              "target_ids": plan["target_ids"], "subtype": plan["subtype"]}
    return {**answer, "level": plan["level"]} if "level" in plan else answer


def correct(body: dict[str, Any]) -> str:
    """Plays a teacher that follows every plan."""
    plans, batch = asked(body)
    return _reply([word(p) for p in plans], batch)


def wrong(body: dict[str, Any]) -> str:
    """Plays a teacher that names a region id the scene does not have (negatives: names it anyway)."""
    plans, batch = asked(body)
    return _reply([{**word(p), "target_ids": [UNKNOWN_ID]} for p in plans], batch)


def paraphrase(body: dict[str, Any]) -> str:
    """Plays the paraphrase teacher: the draft, reworded."""
    plans, batch = asked(body)
    return _reply([{"instruction": f"Please, {p['draft']['instruction'][0].lower()}{p['draft']['instruction'][1:]}",
                    "response": p["draft"]["response"]} for p in plans], batch)


def fixed_on_feedback(body: dict[str, Any]) -> str:
    """Wrong at first; after the feedback turn, correct."""
    return correct(body) if len(user_texts(body)) > 4 else wrong(body)
