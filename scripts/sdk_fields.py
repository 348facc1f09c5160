"""Generate the sandbox's field lists from Meta's official SDK (``facebook_business``).

For each object type a client reads, the SDK's ``Field`` class names the fields (its
``_field_types`` gives their types) and its ``get_*`` edge methods name the edges. This script
writes them to ``src/meta_agent/sandbox/data/sdk_fields.json``, deterministically, with the SDK
version they came from. The sandbox reads that file and never imports the SDK.

    .venv/bin/python scripts/sdk_fields.py            # regenerate the data file
    .venv/bin/python scripts/sdk_fields.py --check    # exit 1 if it is out of date
"""

from __future__ import annotations

import importlib
import inspect
import json
import re
import sys
from pathlib import Path
from typing import Any

DATA_FILE = Path(__file__).resolve().parents[1] / "src/meta_agent/sandbox/data/sdk_fields.json"
COMMAND = ".venv/bin/python scripts/sdk_fields.py"

# SDK class name -> module under facebook_business.adobjects.
OBJECTS = {
    "Ad": "ad",
    "AdAccount": "adaccount",
    "AdAccountUser": "adaccountuser",
    "AdActivity": "adactivity",
    "AdCreative": "adcreative",
    "AdImage": "adimage",
    "AdLabel": "adlabel",
    "AdReportRun": "adreportrun",
    "AdRule": "adrule",
    "AdSet": "adset",
    "AdVideo": "advideo",
    "AdsInsights": "adsinsights",
    "AdsPixel": "adspixel",
    "Business": "business",
    "BusinessUser": "businessuser",
    "Campaign": "campaign",
    "CustomAudience": "customaudience",
    "CustomConversion": "customconversion",
    "Page": "page",
    "User": "user",
    "VideoThumbnail": "videothumbnail",
}

_GET_EDGE = re.compile(r"method='GET',\s*endpoint='/(\w+)'")
_TARGET = re.compile(r"target_class=(\w+)")


def describe(cls: Any) -> dict[str, Any]:
    """The fields (name -> SDK type) and GET edges (name -> target class) of one SDK class."""
    types: dict[str, str] = getattr(cls, "_field_types", {})
    names = {
        value
        for key, value in vars(cls.Field).items()
        if not key.startswith("_") and isinstance(value, str)
    }
    fields = {name: types.get(name, "") for name in sorted(names)}
    edges: dict[str, str] = {}
    for attr in sorted(vars(cls)):
        if not attr.startswith("get_"):
            continue
        source = inspect.getsource(getattr(cls, attr))
        match = _GET_EDGE.search(source)
        if match is None:
            continue
        target = _TARGET.search(source)
        edges[match.group(1)] = target.group(1) if target else ""
    return {"edges": edges, "fields": fields}


def generate() -> dict[str, Any]:
    """The whole data set from the installed SDK."""
    from facebook_business.apiconfig import ads_api_config

    objects = {}
    for name, module in sorted(OBJECTS.items()):
        cls = getattr(importlib.import_module(f"facebook_business.adobjects.{module}"), name)
        objects[name] = describe(cls)
    return {
        "api_version": ads_api_config["API_VERSION"],
        "generated_by": COMMAND,
        "objects": objects,
        "sdk_version": ads_api_config["SDK_VERSION"],
    }


def render(data: dict[str, Any]) -> str:
    """Stable text: sorted keys, one entry a line, a final newline."""
    return json.dumps(data, indent=1, sort_keys=True) + "\n"


def coverage(served: dict[str, set[str]], edges: dict[str, set[str]] | None = None) -> list[str]:
    """Per object type: 'N of M SDK fields served with values' and the SDK's edges.

    ``served`` maps an SDK class name to the field names a full read returned values for;
    ``edges`` to the edges the sandbox serves with content (the others answer an empty page).
    """
    data = json.loads(DATA_FILE.read_text())["objects"]
    lines = []
    for name in sorted(served):
        fields, sdk_edges = data[name]["fields"], data[name]["edges"]
        with_values = len(served[name] & set(fields))
        with_content = len((edges or {}).get(name, set()) & set(sdk_edges))
        lines.append(
            f"{name}: {with_values} of {len(fields)} SDK fields served with values; "
            f"{with_content} of {len(sdk_edges)} SDK edges served by the sandbox, "
            "the rest accepted as empty pages"
        )
    return lines


def main(argv: list[str]) -> int:
    """Write the data file, or with ``--check`` report whether it is current."""
    text = render(generate())
    if "--check" in argv:
        if DATA_FILE.read_text() != text:
            sys.stderr.write(f"{DATA_FILE} is out of date; run: {COMMAND}\n")
            return 1
        return 0
    DATA_FILE.write_text(text)
    sys.stdout.write(f"wrote {DATA_FILE}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
