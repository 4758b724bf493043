"""Answer callbacks for :class:`groundv.engine.fakeserver.FakeServer` that play an LLM teacher.

They read what groundv asked from the request body (OpenAI or Anthropic shape; per plan, per unit or
per image) and answer like a teacher would: :func:`correct` copies each plan's targets and subtype and
words its facts, :func:`wrong` names a region id no scene has, :func:`paraphrase` rewrites the rules
teacher's draft, :func:`fixed_on_feedback` is wrong until it is told why. The tests and benchmarks
use them to run the LLM paths end to end without a model; so can a user checking a pipeline::

    with FakeServer(faketeacher.correct) as server:
        generate(source, "ds", teacher="openai", llm={"model": "fake", "base_url": f"{server.url}/v1"})
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


#: how the plans of a question are answered: "plan" (one object), "unit" ({"samples": [...]}) or, per
#: image, the categories in order with how many plans each ({"negative": [...], ...})
Layout = str | list[tuple[str, int]]


def asked(body: dict[str, Any]) -> tuple[list[dict[str, Any]], Layout]:
    """The plans of the last question (a per-unit feedback turn is skipped) and how to lay out the answer.

    A per-image feedback turn lists the failing plans again: they are the question then.
    """
    for text in reversed(user_texts(body)):
        for marker in ("\n\nPlans to answer again:\n", "\n\nPlans by category (answer each, in order):\n"):
            if marker in text:
                grouped = json.loads(text.split(marker, 1)[1])
                return [p for plans in grouped.values() for p in plans], [(c, len(p)) for c, p in grouped.items()]
        if "\n\nPlans (answer each, in order):\n" in text:
            return json.loads(text.split("\n\nPlans (answer each, in order):\n", 1)[1]), "unit"
        if "\n\nPlan:\n" in text:
            return [json.loads(text.split("\n\nPlan:\n", 1)[1])], "plan"
    raise ValueError("no groundv plan in the request")


def _reply(items: list[dict[str, Any]], layout: Layout) -> str:
    if layout == "plan":
        return json.dumps(items[0])
    if layout == "unit":
        return json.dumps({"samples": items})
    grouped, start = {}, 0
    for category, count in layout:
        grouped[category] = items[start:start + count]
        start += count
    return json.dumps(grouped)


def word(plan: dict[str, Any]) -> dict[str, Any]:
    """A correct answer to one plan: its targets and subtype, its facts spelled out."""
    facts = ", ".join(f"{k} {v}" for k, v in sorted(plan["facts"].items()))
    # A no-target answer refuses and names what is missing (the validator's not_refused check).
    response = (f"Done: {facts}." if plan["target_ids"]
                else "Nothing to segment: " + "; ".join(f"no {v}" for _, v in sorted(plan["facts"].items())) + ".")
    answer = {"instruction": f"Segment what has {plan['subtype']}: {facts}.", "response": response,
              "target_ids": plan["target_ids"], "subtype": plan["subtype"]}
    return {**answer, "level": plan["level"]} if "level" in plan else answer


def correct(body: dict[str, Any]) -> str:
    """Plays a teacher that follows every plan."""
    plans, layout = asked(body)
    return _reply([word(p) for p in plans], layout)


def wrong(body: dict[str, Any]) -> str:
    """Plays a teacher that names a region id the scene does not have (negatives: names it anyway)."""
    plans, layout = asked(body)
    return _reply([{**word(p), "target_ids": [UNKNOWN_ID]} for p in plans], layout)


def paraphrase(body: dict[str, Any]) -> str:
    """Plays the paraphrase teacher: the draft, reworded."""
    plans, layout = asked(body)
    return _reply([{"instruction": f"Please, {p['draft']['instruction'][0].lower()}{p['draft']['instruction'][1:]}",
                    "response": p["draft"]["response"]} for p in plans], layout)


def fixed_on_feedback(body: dict[str, Any]) -> str:
    """Wrong at first; after the feedback turn, correct."""
    return correct(body) if user_texts(body)[-1].startswith("Your answer was not accepted") else wrong(body)
