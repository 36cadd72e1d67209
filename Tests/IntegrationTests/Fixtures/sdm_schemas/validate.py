"""Checks NGSI-LD entities against the Smart Data Models JSON Schemas, offline.

schemas/ holds copies of ../shared/reference/hub/schemas/ (the models'
published schema.json files and the two documents they reference). The
schemas describe the key-values form, so each normalized entity is turned
into it first: a Property becomes its value (a typed value such as
{"@type": "DateTime", "@value": ...} its @value, a multi-instance attribute
its default instance's), a GeoProperty its GeoJSON, a Relationship its
object; sub-properties are the normalized form's own and are dropped.
$ref URLs resolve to the copies through a `referencing` registry, so nothing
is fetched.

Reads a JSON array of entities from FILE; prints a JSON object mapping each
entity id to the list of its schema errors (empty when it validates).
Usage: validate.py FILE
"""
import json
import os
import sys

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schemas")
# Where the models' $refs point, and which copy answers.
REFERENCED = {
    "https://smart-data-models.github.io/data-models/common-schema.json": "common-schema.json",
    "https://raw.githubusercontent.com/smart-data-models/dataModel.Environment/master/Environment-schema.json": "Environment-schema.json",
    "https://smart-data-models.github.io/dataModel.Environment/Environment-schema.json": "Environment-schema.json",
}


def load(name):
    with open(os.path.join(HERE, name)) as handle:
        return json.load(handle)


def registry():
    resources = []
    for url, name in REFERENCED.items():
        resources.append((url, Resource.from_contents(load(name), default_specification=DRAFT202012)))
    return Registry().with_resources(resources)


def plain(attribute):
    if isinstance(attribute, list):
        defaults = [a for a in attribute if isinstance(a, dict) and "datasetId" not in a]
        attribute = defaults[0] if defaults else attribute[0]
    if not isinstance(attribute, dict):
        return attribute
    if attribute.get("type") == "Relationship":
        return attribute.get("object")
    value = attribute.get("value")
    if isinstance(value, dict) and "@value" in value:
        return value["@value"]
    return value


def key_values(entity):
    result = {"id": entity.get("id"), "type": entity.get("type")}
    for name, attribute in entity.items():
        if name not in ("id", "type", "@context"):
            result[name] = plain(attribute)
    return result


def main():
    with open(sys.argv[1]) as handle:
        entities = json.load(handle)
    shared = registry()
    report = {}
    for entity in entities:
        schema = load("%s.schema.json" % entity.get("type"))
        validator = Draft202012Validator(schema, registry=shared, format_checker=Draft202012Validator.FORMAT_CHECKER)
        errors = sorted(validator.iter_errors(key_values(entity)), key=lambda e: list(e.absolute_path))
        report[entity.get("id")] = ["%s: %s" % ("/".join(str(p) for p in error.absolute_path) or "(entity)", error.message[:300])
                                    for error in errors]
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main()
