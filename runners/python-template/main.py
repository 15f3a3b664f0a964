"""A runner to copy for a Python model: `PORT=8000 python3 runners/python-template/main.py`.

The "model" transforms text (the same as runners/template), so the plumbing can be tried
without a GPU. Replace `setup`, `validate` and `run` with your model's; see README.md.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Dict, List

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # find vyvo_runner.py however we are started

from vyvo_runner import RunContext, ValidationIssue, serve  # noqa: E402

TRANSFORMS = ("upper", "lower", "reverse", "title")
MAX_TEXT_LENGTH = 10_000
MAX_DELAY_MS = 60_000
STEPS = 10

# Register this on the model version; the server checks submissions against it before queueing.
INPUT_SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "properties": {
        "text": {"type": "string", "minLength": 1, "maxLength": MAX_TEXT_LENGTH},
        "transform": {"type": "string", "enum": list(TRANSFORMS), "default": "upper"},
        "delay_ms": {"type": "integer", "minimum": 0, "maximum": MAX_DELAY_MS, "default": 0},
    },
    "required": ["text"],
    "additionalProperties": False,
}


def setup() -> None:
    """Load weights here, once: /health answers 503 "loading" until this returns.

    For example (not stdlib, so not here): `pipe = DiffusionPipeline.from_pretrained(...).to("cuda")`,
    kept in a module-level variable. Raising fails the runner: it exits with code 1.
    """


def validate(input_: Dict[str, Any]) -> List[ValidationIssue]:
    """The same rules as INPUT_SCHEMA, as fal-style detail entries; [] means valid."""
    issues: List[ValidationIssue] = []
    for key in input_:
        if key not in INPUT_SCHEMA["properties"]:
            issues.append({"loc": ["body", key], "msg": "Extra inputs are not permitted", "type": "extra_forbidden"})
    text = input_.get("text")
    if text is None:
        issues.append({"loc": ["body", "text"], "msg": "Field required", "type": "missing"})
    elif not isinstance(text, str):
        issues.append({"loc": ["body", "text"], "msg": "Input should be a valid string", "type": "string_type"})
    elif not 1 <= len(text) <= MAX_TEXT_LENGTH:
        issues.append({"loc": ["body", "text"], "msg": f"String should have 1 to {MAX_TEXT_LENGTH} characters",
                       "type": "string_length"})
    if "transform" in input_ and input_["transform"] not in TRANSFORMS:
        expected = ", ".join(f"'{name}'" for name in TRANSFORMS)
        issues.append({"loc": ["body", "transform"], "msg": f"Input should be {expected}", "type": "literal_error"})
    delay = input_.get("delay_ms", 0)
    if isinstance(delay, bool) or not isinstance(delay, int) or not 0 <= delay <= MAX_DELAY_MS:
        issues.append({"loc": ["body", "delay_ms"], "msg": f"Input should be an integer from 0 to {MAX_DELAY_MS}",
                       "type": "int_range"})
    return issues


def transform_text(text: str, transform: str) -> str:
    if transform == "upper":
        return text.upper()
    if transform == "lower":
        return text.lower()
    if transform == "reverse":
        return text[::-1]
    return " ".join(word[:1].upper() + word[1:].lower() for word in text.split(" "))


def run(input_: Dict[str, Any], ctx: RunContext) -> Dict[str, Any]:
    transform = input_.get("transform", "upper")
    ctx.log("info", f"received {len(input_['text'])} characters to {transform}")
    delay_seconds = input_.get("delay_ms", 0) / 1000
    for step in range(1, STEPS + 1):
        # A real model checks between its own steps: ctx.check_cancelled() raises once cancelled.
        ctx.wait(delay_seconds / STEPS)
        ctx.progress(step / STEPS, f"step {step}/{STEPS}")
    text = transform_text(input_["text"], transform)
    path = ctx.output_file("result.txt")
    with open(path, "w", encoding="utf-8") as file:
        file.write(text)
    size = os.path.getsize(path)
    ctx.log("info", f"wrote {size} bytes to result.txt")
    return {
        "text": text,
        "length": len(text),
        # The agent uploads file:// URLs inside output_dir and puts the stored file's URL here instead.
        "file": {"url": ctx.file_url(path), "content_type": "text/plain; charset=utf-8", "file_name": "result.txt",
                 "file_size": size},
    }


if __name__ == "__main__":
    serve(name="vyvo/python-template", setup=setup, validate=validate, run=run)
