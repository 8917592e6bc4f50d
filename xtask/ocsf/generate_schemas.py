"""Writes the JSON Schemas of the OCSF classes the Slack mapping uses, for one OCSF version.

Run by `cargo xtask ocsf-schemas` (which makes the venv and pins the package); not by hand.

    python generate_schemas.py OUT_DIR OCSF_VERSION CLASS_NAME=PROFILES...

Each CLASS_NAME=PROFILES is a class and one set of OCSF profiles its events may declare in
`metadata.profiles` (comma-separated, e.g. `web_resources_activity=cloud,host`; `-` for none).
For each: `OUT_DIR/<class>.<profiles joined by +>.schema.json` (`<class>.schema.json` without
profiles), the self-contained JSON Schema (draft 2020-12) with exactly those profiles'
attributes (as OCSF's validator admits them: a profile's attributes only when it is
declared) that the PyPI package `ocsf-json-schema` generates from the compiled OCSF schema it
ships, with `$defs` sorted so the output does not depend on Python's set order. Besides them,
`OUT_DIR/events.schema.json`: one object schema whose `properties` are the union of the
schemas' top-level attributes (type and description only), for hosts that need a record
schema with `properties` (PyAirbyte's caches); `OUT_DIR/captions.json`: for each class its
uid, caption and the captions OCSF gives each `activity_id`, `status_id` and `severity_id`
(what `activity_name`, `status` and `severity` must say); and `OUT_DIR/profiles.json`: for
each class, each profile it admits and the top-level attributes that profile adds to it (so
the tests can say which profiles an event uses), both for the tests.
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


def attribute_profiles(spec: dict) -> list:
    """The profiles an attribute belongs to (1.3.0 says one as `profile`, 1.8.0 a list)."""
    if spec.get("profiles"):
        return list(spec["profiles"])
    return [spec["profile"]] if spec.get("profile") else []


def main() -> None:
    out_dir, version, specs = Path(sys.argv[1]), sys.argv[2], sys.argv[3:]
    if not specs:
        sys.exit("no classes given")
    compiled = get_ocsf_schema(version)
    embedded = OcsfJsonSchemaEmbedded(compiled)
    # 1.8.0 keeps the dictionary under `dictionary`, 1.3.0 as `dictionary_attributes`.
    attributes = compiled.get("dictionary", {}).get("attributes") or compiled["dictionary_attributes"]
    out_dir.mkdir(parents=True, exist_ok=True)

    union: dict = {}
    required = None
    captions: dict = {}
    profile_attributes: dict = {}
    classes = []
    for spec in specs:
        name, _, profiles = spec.partition("=")
        profiles = [] if profiles in ("", "-") else profiles.split(",")
        if name not in classes:
            classes.append(name)
        schema = embedded.get_class_schema(name, profiles)
        if "$defs" in schema:
            schema["$defs"] = dict(sorted(schema["$defs"].items()))
        suffix = f".{'+'.join(profiles)}" if profiles else ""
        write(out_dir / f"{name}{suffix}.schema.json", schema)
        for prop, spec in schema["properties"].items():
            entry = union.setdefault(prop, {"types": [], "classes": []})
            t = json_type(spec)
            for one in t if isinstance(t, list) else [t]:
                if one not in entry["types"]:
                    entry["types"].append(one)
            entry["classes"].append(compiled["classes"][name]["uid"])
        attrs = compiled["classes"][name]["attributes"]
        by_profile: dict = {}
        for attr, attr_spec in attrs.items():
            for profile in attribute_profiles(attr_spec):
                by_profile.setdefault(profile, []).append(attr)
        profile_attributes[name] = {p: sorted(a) for p, a in sorted(by_profile.items())}
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
    write(out_dir / "profiles.json", dict(sorted(profile_attributes.items())))
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
            + " (profiles: as each event declares in metadata.profiles)",
            "description": "Every record is one event of the classes "
            + ", ".join(f"{compiled['classes'][c]['caption']} ({compiled['classes'][c]['uid']})" for c in classes)
            + ". The per-class schemas beside this file, one per set of profiles an event may"
            " declare, are exact; this one lists the union of their top-level attributes for"
            " hosts that need one record schema.",
            "type": "object",
            "properties": properties,
            "required": sorted(required or []),
        },
    )


if __name__ == "__main__":
    main()
