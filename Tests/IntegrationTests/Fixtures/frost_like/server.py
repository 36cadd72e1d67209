"""A FROST-like OGC SensorThings API 1.1 test server for citygate's tests.

It is NOT FROST-Server. FROST cannot run on these machines (no container
engine, no registry for its Java artefacts), so this server imitates the
behaviours of FROST that ../shared/reference/hub/real-hubs.md documents,
each with its source:

  R1  POST /CreateObservations answers 201 even when rows fail: one string per
      dataArray row, the new Observation's self-link, or a text starting with
      "error"; an error row is not stored.
      (FraunhoferIOSB/FROST-Server issue #2026; OGC 18-088 "Create Observations")
  R2  An Observation without a FeatureOfInterest gets one derived from its
      Thing's Location; when the Thing has no Location the insert fails with
      409 {"code":409,"type":"error","message":"Data violates constraints."}
      (single POST), or as an error row in CreateObservations.
      (FROST-Server issue #2277)
  R3  Time strings are parsed strictly: an offset needs a colon (-07:00, not
      -0700); Z is fine.  (FROST-Server issue #1924)
  R4  phenomenonTime is a string: an instant, or an interval start/end.
      (FROST-Server issue #2312; OGC 18-088 Observation table)
  R5  Entity ids are integers; an id sent back as another JSON type (a
      string "42") names no entity.  (FROST configuration: id type settings)
  R6  A FeatureOfInterest id that does not exist fails the row:
      "error No such entity 'FeatureOfInterest' with id [N]".
      (the example in FROST-Server issue #2026)

Test knobs, not FROST: --error-rows F answers that fraction of rows (chosen
by a hash of datastream and phenomenonTime) with "error Failed to store
data." on their first attempt only, as a server under load might;
--delay-ms N holds each CreateObservations answer N ms after the rows are
stored (a batch stays in flight long enough for a test to kill the gateway).

Only what citygate asks is served: POST of Things (with nested Locations),
Sensors, ObservedProperties, Datastreams, FeaturesOfInterest, Observations;
POST CreateObservations; GET of a collection or of Datastreams(N)/Observations
with $filter (`path eq value` joined by `and`; path: name, resultTime,
phenomenonTime, properties/x, parameters/x), $top and $skip; PATCH
Observations(N). Entities persist in an SQLite file (the tests kill this
server and start it again on the same file).

Usage: python3 server.py --port P --db FILE [--error-rows 0.2]
"""
import argparse
import datetime
import json
import re
import sqlite3
import threading
import time
import urllib.parse
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREFIX = "/FROST-Server/v1.1"
DELAY = {"seconds": 0.0}
COLLECTIONS = {"Things", "Locations", "Sensors", "ObservedProperties", "Datastreams", "FeaturesOfInterest", "Observations"}
INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")  # R3


class Refusal(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def parse_instant(text):
    if not isinstance(text, str) or not INSTANT.match(text):
        raise Refusal(400, f"Could not parse time '{text}'")
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def check_phenomenon_time(text):  # R4
    if not isinstance(text, str):
        raise Refusal(400, "phenomenonTime must be a string (instant or interval)")
    for part in text.split("/"):
        parse_instant(part)
    if text.count("/") > 1:
        raise Refusal(400, f"Could not parse interval '{text}'")


class Store:
    def __init__(self, path, error_rows):
        self.lock = threading.Lock()
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS entities (id INTEGER PRIMARY KEY AUTOINCREMENT, collection TEXT, body TEXT)")
        self.db.execute("""CREATE TABLE IF NOT EXISTS observations (id INTEGER PRIMARY KEY, datastream INTEGER, feature INTEGER,
                           phenomenon_time TEXT, result_time TEXT, result, parameters TEXT)""")
        self.db.execute("CREATE TABLE IF NOT EXISTS attempted (key TEXT PRIMARY KEY)")
        self.error_rows = error_rows

    def insert(self, collection, body):
        cursor = self.db.execute("INSERT INTO entities (collection, body) VALUES (?, ?)", (collection, json.dumps(body)))
        return cursor.lastrowid

    def get(self, collection, ident):
        # R5: only an integer names an entity.
        if not isinstance(ident, int) or isinstance(ident, bool):
            return None
        row = self.db.execute("SELECT body FROM entities WHERE id = ? AND collection = ?", (ident, collection)).fetchone()
        return json.loads(row[0]) if row else None

    def reference(self, body, key, collection):
        link = body.get(key)
        ident = link.get("@iot.id") if isinstance(link, dict) else None
        if self.get(collection, ident) is None:
            raise Refusal(400, f"No such entity '{key}' with id [{json.dumps(ident)}]")
        return ident

    def create(self, collection, body):
        if not isinstance(body, dict) or "name" not in body and collection != "Observations":
            raise Refusal(400, "name is required")
        if collection == "Things":
            locations = []
            for location in body.pop("Locations", []) or []:
                locations.append(self.insert("Locations", location))
            body["_locations"] = locations
        if collection == "Datastreams":
            body["_thing"] = self.reference(body, "Thing", "Things")
            self.reference(body, "Sensor", "Sensors")
            self.reference(body, "ObservedProperty", "ObservedProperties")
        if collection == "Observations":
            return self.observe(body["Datastream"].get("@iot.id") if isinstance(body.get("Datastream"), dict) else None,
                                body, (body.get("FeatureOfInterest") or {}).get("@iot.id") if isinstance(body.get("FeatureOfInterest"), dict) else None)
        return self.insert(collection, body)

    def observe(self, datastream_id, values, feature_id, row_check=None):
        datastream = self.get("Datastreams", datastream_id)
        if datastream is None:
            raise Refusal(400, f"No such entity 'Datastream' with id [{json.dumps(datastream_id)}]")
        check_phenomenon_time(values.get("phenomenonTime"))
        if values.get("resultTime") is not None:
            parse_instant(values["resultTime"])
        if feature_id is None:  # R2: derive it from the Thing's Location
            thing = self.get("Things", datastream["_thing"]) or {}
            if not thing.get("_locations"):
                raise Refusal(409, "Data violates constraints.")
            feature_id = self.insert("FeaturesOfInterest", {"name": "derived", "_from_location": thing["_locations"][0]})
        elif self.get("FeaturesOfInterest", feature_id) is None:  # R6
            raise Refusal(400, f"No such entity 'FeatureOfInterest' with id [{json.dumps(feature_id)}]")
        if row_check:
            row_check()
        cursor = self.db.execute(
            "INSERT INTO observations (datastream, feature, phenomenon_time, result_time, result, parameters) VALUES (?, ?, ?, ?, ?, ?)",
            (datastream_id, feature_id, values.get("phenomenonTime"), values.get("resultTime"),
             json.dumps(values.get("result")), json.dumps(values.get("parameters"))))
        return cursor.lastrowid

    def first_attempt_fails(self, datastream_id, phenomenon_time):
        if self.error_rows <= 0:
            return False
        key = f"{datastream_id}|{phenomenon_time}"
        if zlib.crc32(key.encode()) % 1000 >= self.error_rows * 1000:
            return False
        return self.db.execute("INSERT OR IGNORE INTO attempted (key) VALUES (?)", (key,)).rowcount == 1

    def create_observations(self, payload, root):  # R1
        # One SQLite transaction per request, so a test that changes the file
        # from outside (a lost FeatureOfInterest) sees every row before or after.
        self.db.execute("BEGIN IMMEDIATE")
        try:
            return self.create_observation_rows(payload, root)
        finally:
            self.db.execute("COMMIT")

    def create_observation_rows(self, payload, root):
        answers = []
        for item in payload:
            components = item.get("components") or []
            datastream_id = (item.get("Datastream") or {}).get("@iot.id")
            for row in item.get("dataArray") or []:
                values = dict(zip(components, row))
                feature_id = values.pop("FeatureOfInterest/id", None)
                try:
                    def fail_first():
                        if self.first_attempt_fails(datastream_id, values.get("phenomenonTime")):
                            raise Refusal(500, "Failed to store data.")
                    ident = self.observe(datastream_id, values, feature_id, row_check=fail_first)
                    answers.append(f"{root}/Observations({ident})")
                except Refusal as refusal:
                    answers.append(f"error {refusal.message}")
        return answers

    def entity_json(self, collection, ident, body, root):
        shown = {k: v for k, v in body.items() if not k.startswith("_")}
        shown["@iot.id"] = ident
        shown["@iot.selfLink"] = f"{root}/{collection}({ident})"
        return shown

    def observation_json(self, row, root):
        ident, datastream, feature, phenomenon, result_time, result, parameters = row
        return {"@iot.id": ident, "@iot.selfLink": f"{root}/Observations({ident})", "phenomenonTime": phenomenon,
                "resultTime": result_time, "result": json.loads(result), "parameters": json.loads(parameters),
                "Datastream@iot.id": datastream, "FeatureOfInterest@iot.id": feature}

    def listing(self, collection, datastream, query, root):
        if collection == "Observations":
            sql = "SELECT id, datastream, feature, phenomenon_time, result_time, result, parameters FROM observations"
            rows = self.db.execute(sql + (" WHERE datastream = ?" if datastream is not None else "") + " ORDER BY id",
                                   (datastream,) if datastream is not None else ()).fetchall()
            items = [self.observation_json(row, root) for row in rows]
        else:
            rows = self.db.execute("SELECT id, body FROM entities WHERE collection = ? ORDER BY id", (collection,)).fetchall()
            items = [self.entity_json(collection, ident, json.loads(body), root) for ident, body in rows]
        for path, value in parse_filter(query.get("$filter", [""])[0]):
            items = [item for item in items if matches(item, path, value)]
        skip = int(query.get("$skip", ["0"])[0])
        top = int(query.get("$top", ["100"])[0])
        page = {"value": items[skip:skip + top]}
        if skip + top < len(items):
            params = {k: v[0] for k, v in query.items()}
            params["$skip"] = str(skip + top)
            page["@iot.nextLink"] = f"{root}/{collection}?{urllib.parse.urlencode(params)}"
        return page


def parse_filter(text):
    conditions = []
    for clause in filter(None, re.split(r"\s+and\s+", text.strip())):
        match = re.match(r"^([\w/@.]+)\s+eq\s+(.+)$", clause.strip())
        if not match:
            raise Refusal(400, f"Unsupported filter '{clause}'")
        path, value = match.group(1), match.group(2).strip()
        if value.startswith("'") and value.endswith("'"):
            value = ("str", value[1:-1].replace("''", "'"))
        elif INSTANT.match(value):
            value = ("time", parse_instant(value))
        else:
            value = ("raw", value)
        conditions.append((path, value))
    return conditions


def matches(item, path, value):
    current = item
    for part in path.split("/"):
        current = current.get(part) if isinstance(current, dict) else None
    kind, wanted = value
    if kind == "time":
        try:
            return isinstance(current, str) and "/" not in current and parse_instant(current) == wanted
        except Refusal:
            return False
    if kind == "str":
        return current == wanted
    return str(current) == wanted


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body=None, headers=None):
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def root(self):
        return f"http://{self.headers.get('Host')}{PREFIX}"

    def route(self):
        url = urllib.parse.urlsplit(self.path)
        if not url.path.startswith(PREFIX + "/"):
            raise Refusal(404, "Not found")
        rest = url.path[len(PREFIX) + 1:]
        match = re.match(r"^(\w+)(?:\((\d+)\))?(?:/(\w+))?$", rest)
        if not match:
            raise Refusal(404, f"Not a path this server knows: {rest}")
        return match.group(1), int(match.group(2)) if match.group(2) else None, match.group(3), urllib.parse.parse_qs(url.query)

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        try:
            return json.loads(self.rfile.read(length) or b"null")
        except ValueError:
            raise Refusal(400, "Not JSON")

    def handle_any(self, method):
        try:
            collection, ident, sub, query = self.route()
            with store.lock:
                if method == "GET":
                    if collection in COLLECTIONS and ident is None:
                        return self.answer(200, store.listing(collection, None, query, self.root()))
                    if collection == "Datastreams" and sub == "Observations":
                        return self.answer(200, store.listing("Observations", ident, query, self.root()))
                    raise Refusal(404, "Not found")
                if method == "POST" and collection == "CreateObservations":
                    payload = self.body()
                    if not isinstance(payload, list):
                        raise Refusal(400, "CreateObservations takes an array")
                    answers = store.create_observations(payload, self.root())
                else:
                    answers = None
            if answers is not None:
                if DELAY["seconds"]:
                    time.sleep(DELAY["seconds"])
                return self.answer(201, answers)
            with store.lock:
                if method == "POST" and collection in COLLECTIONS and ident is None:
                    new = store.create(collection, self.body())
                    return self.answer(201, None, {"Location": f"{self.root()}/{collection}({new})"})
                if method == "PATCH" and collection == "Observations" and ident is not None:
                    changes = self.body()
                    row = store.db.execute("SELECT id FROM observations WHERE id = ?", (ident,)).fetchone()
                    if row is None:
                        raise Refusal(404, "Nothing found.")
                    if "result" in changes:
                        store.db.execute("UPDATE observations SET result = ? WHERE id = ?", (json.dumps(changes["result"]), ident))
                    if "parameters" in changes:
                        store.db.execute("UPDATE observations SET parameters = ? WHERE id = ?", (json.dumps(changes["parameters"]), ident))
                    return self.answer(200, {})
                raise Refusal(405, "Method not allowed")
        except Refusal as refusal:
            self.answer(refusal.status, {"code": refusal.status, "type": "error", "message": refusal.message})

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PATCH(self):
        self.handle_any("PATCH")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--error-rows", type=float, default=0.0)
    parser.add_argument("--delay-ms", type=int, default=0)
    arguments = parser.parse_args()
    DELAY["seconds"] = arguments.delay_ms / 1000.0
    store = Store(arguments.db, arguments.error_rows)
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer(("127.0.0.1", arguments.port), Handler).serve_forever()
