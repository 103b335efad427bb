"""Write one JSON Schema file per message into this package's folder: ``python -m tc_calendar.api.schemas``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tc_calendar.api.schemas import METHODS, NOTIFICATIONS, ErrorResponse

FOLDER = Path(__file__).parent


def generate() -> dict[str, dict[str, Any]]:
    """File name -> schema document."""
    out: dict[str, dict[str, Any]] = {}
    for method, (params, result) in METHODS.items():
        out[f"{method}.params.json"] = params.model_json_schema()
        out[f"{method}.result.json"] = result.model_json_schema()
    for method, params in NOTIFICATIONS.items():
        out[f"{method}.params.json"] = params.model_json_schema()
    out["error.json"] = ErrorResponse.model_json_schema()
    for name, schema in out.items():
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"https://tc-calendar.invalid/schemas/{name}"
    return out


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def main() -> None:
    for name, schema in generate().items():
        (FOLDER / name).write_text(render(schema))


if __name__ == "__main__":
    main()
