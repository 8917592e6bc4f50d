"""Writes the JSON Schemas of the OCSF classes the Slack mapping uses.

Run by `cargo xtask ocsf-schemas` (which makes the venv and pins the package); not by hand.

    python generate_schemas.py OUT_DIR OCSF_VERSION PROFILES CLASS_NAME...

PROFILES is a comma-separated list of the OCSF profiles the events use (e.g. `cloud`), or `-`
for none. For each class: `OUT_DIR/<class>.schema.json`, the self-contained JSON Schema (draft
2020-12) with those profiles' attributes that the PyPI package `ocsf-json-schema` generates from
the compiled OCSF schema it ships,
with `$defs` sorted so the output does not depend on Python's set order. Besides them,
`OUT_DIR/events.schema.json`: one object schema whose `properties` are the union of the
classes' top-level attributes (type and description only), for hosts that need a record
schema with `properties` (PyAirbyte's caches), and `OUT_DIR/captions.json`: for each class its
uid, caption and the captions OCSF gives each `activity_id`, `status_id` and `severity_id`
(what `activity_name`, `status` and `severity` must say), for the tests.
"""

import json
import sys
from pathlib import Path

from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema


def write(path: Path, value) -> None:
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def json_type(prop: dict):
    if "$ref" in prop:
        return "object"
    return prop.get("type", ["object", "string", "integer", "number", "boolean", "array", "null"])


def main() -> None:
    out_dir, version, profiles, classes = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
    profiles = [] if profiles == "-" else profiles.split(",")
    if not classes:
        sys.exit("no classes given")
    compiled = get_ocsf_schema(version)
    embedded = OcsfJsonSchemaEmbedded(compiled)
    attributes = compiled["dictionary"]["attributes"]
    out_dir.mkdir(parents=True, exist_ok=True)

    union: dict = {}
    required = None
    captions: dict = {}
    for name in classes:
        schema = embedded.get_class_schema(name, profiles)
        if "$defs" in schema:
            schema["$defs"] = dict(sorted(schema["$defs"].items()))
        write(out_dir / f"{name}.schema.json", schema)
        for prop, spec in schema["properties"].items():
            entry = union.setdefault(prop, {"types": [], "classes": []})
            t = json_type(spec)
            for one in t if isinstance(t, list) else [t]:
                if one not in entry["types"]:
                    entry["types"].append(one)
            entry["classes"].append(compiled["classes"][name]["uid"])
        attrs = compiled["classes"][name]["attributes"]
        captions[name] = {
            "uid": compiled["classes"][name]["uid"],
            "caption": compiled["classes"][name]["caption"],
            **{
                attr: dict(
                    sorted(
                        ((k, v["caption"]) for k, v in attrs[attr]["enum"].items()),
                        key=lambda kv: int(kv[0]),
                    )
                )
                for attr in ("activity_id", "status_id", "severity_id")
            },
        }
        req = set(schema.get("required", []))
        required = req if required is None else required & req

    write(out_dir / "captions.json", dict(sorted(captions.items())))
    properties = {}
    for prop in sorted(union):
        types = union[prop]["types"]
        description = attributes.get(prop, {}).get("description", "")
        properties[prop] = {
            "type": types[0] if len(types) == 1 else types,
            "description": description,
        }
    write(
        out_dir / "events.schema.json",
        {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"https://schema.ocsf.io/schema/{version}/slack-audit-events",
            "title": f"OCSF {version} event of one of the classes the Slack audit log maps to"
            + (f" (profiles: {', '.join(profiles)})" if profiles else ""),
            "description": "Every record is one event of the classes "
            + ", ".join(f"{compiled['classes'][c]['caption']} ({compiled['classes'][c]['uid']})" for c in classes)
            + ". The per-class schemas beside this file are exact; this one lists the union of"
            " their top-level attributes for hosts that need one record schema.",
            "type": "object",
            "properties": properties,
            "required": sorted(required or []),
        },
    )


if __name__ == "__main__":
    main()
