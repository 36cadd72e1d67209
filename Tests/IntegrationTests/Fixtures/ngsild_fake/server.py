#!/usr/bin/env python3
"""A FAKE NGSI-LD broker for citygate's tests. Not Orion-LD, Scorpio or Stellio.

No NGSI-LD broker installs here (Orion-LD needs MongoDB; Scorpio and Stellio
need Maven, Docker or Kafka), so this stand-in reproduces the answers the
gateway must handle, as documented in ETSI GS CIM 009 and in
../shared/reference/hub/README.md, and records everything it received:

  POST /ngsi-ld/v1/entityOperations/upsert?options=update
       201 + JSON array of the ids created; 204 when every entity existed;
       207 BatchOperationResult {success, errors[{entityId, error}]} when some
       entities failed; 400 when the request as a whole is invalid (not a JSON
       array, an entity without id/type, @context in the body without
       application/ld+json, or a Link header together with ld+json).
       Like Orion-LD it appends every instance with an observedAt to the
       attribute's history, a second time if the same observedAt comes again.
  GET  /ngsi-ld/v1/entities/{id}[?attrs=a,b]   200 entity / 404 ProblemDetails
  POST /token    OAuth2 client credentials (form: grant_type, client_id, client_secret)

JSON-LD for real (pyld, PyPI), as the spec's context handling says (ETSI GS
CIM 009; real-hubs.md): each upserted entity is expanded with its @context
(application/ld+json) or the Link header (application/json) and stored
expanded. A GET is compacted with the Link header's context, or with the
core context only when there is none, so a term only a Smart Data Models
context defines comes back as its full IRI; `attrs=` is expanded with the
Link context too (without one, `pm25` means the default context's pm25 and
matches nothing). @context URLs resolve offline, from contexts/ (copies of
../shared/reference/hub/contexts/); any other URL is answered 504
LdContextNotAvailable, as a broker that cannot fetch a context answers.

--mode orion-ld-1 imitates FIWARE Orion-LD 1.1.x/1.2 in what citygate meets:
  - a batch upsert entity carrying datasetId instances is refused in the 207,
    per entity, as BadRequestData "attribute must be a JSON object"
    (context.Orion-LD issues #1246, #1305, #741; real-hubs.md);
  - batch operation answers carry no Link header (pull request #749).
--delay-ms N holds each upsert's answer N ms after the entities are stored
(a test knob: the broker has the data and the gateway has no answer yet, the
window in which a crash leaves a batch in flight).

Test controls (not NGSI-LD):
  POST /_fake/script    {"responses": [{"status": 503, "retryAfter": 1}, ...]}:
                        the next upserts get these answers instead (and are not stored);
                        a {"status": 207, "fail": "substring", "failStatus": 400} entry
                        fails the entities whose id contains the substring.
  POST /_fake/config    {"rejectIds": "substring"}: from now on entities whose id
                        contains it are refused in a 207 (BadRequestData); "" stops it.
  GET  /_fake/received  what was received: upserts, answers, history, entities, tokens issued.

Usage: server.py --port P [--auth none|bearer:TOKEN|x-auth-token:TOKEN|oauth2:CLIENT:SECRET:EXPIRES_IN]
"""
import argparse
import json
import os
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from pyld import jsonld

CORE = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld"
HERE = os.path.dirname(os.path.abspath(__file__))
# The URLs the entities name, served from the offline copies.
CONTEXT_FILES = {
    CORE: "ngsi-ld-core-context-v1.4.jsonld",
    "https://raw.githubusercontent.com/smart-data-models/dataModel.Environment/master/context.jsonld": "sdm-Environment.context.jsonld",
    "https://raw.githubusercontent.com/smart-data-models/dataModel.WasteManagement/master/context.jsonld": "sdm-WasteManagement.context.jsonld",
    "https://raw.githubusercontent.com/smart-data-models/dataModel.Parking/master/context.jsonld": "sdm-Parking.context.jsonld",
    "https://raw.githubusercontent.com/smart-data-models/dataModel.Device/master/context.jsonld": "sdm-Device.context.jsonld",
}


class ContextNotAvailable(Exception):
    pass


LOADED = {}


def load_document(url, options=None):
    name = CONTEXT_FILES.get(url)
    if name is None:
        raise ContextNotAvailable(url)
    if name not in LOADED:
        with open(os.path.join(HERE, "contexts", name)) as handle:
            LOADED[name] = json.load(handle)
    return {"contextUrl": None, "documentUrl": url, "document": LOADED[name]}


jsonld.set_document_loader(load_document)


def link_context(header):
    """The context URL of a JSON-LD Link header, or None."""
    if not header or 'rel="http://www.w3.org/ns/json-ld#context"' not in header:
        return None
    return header.split(">")[0].lstrip(" <")


def with_core(context):
    contexts = context if isinstance(context, list) else [context] if context else []
    return contexts + ([CORE] if CORE not in contexts else [])


def expand(entity, context):
    """The entity expanded with its @context, or with `context` (a Link header's)."""
    document = dict(entity)
    document["@context"] = with_core(document.get("@context", context))
    try:
        return jsonld.expand(document)[0]
    except jsonld.JsonLdError as error:
        if isinstance(getattr(error, "cause", None), ContextNotAvailable) or "loading" in str(error).lower():
            raise ContextNotAvailable(str(error))
        raise

LOCK = threading.Lock()
STATE = {
    "entities": {},      # id -> entity as received (merged, options=update; short names)
    "expanded": {},      # id -> the entity expanded, as the broker keeps it (IRI -> values)
    "history": {},       # "id|attr|datasetId" -> [[observedAt, value], ...]
    "upserts": [],       # every upsert request: {"contentType", "link", "tenant", "entities"}
    "answers": [],       # status of every upsert answered
    "script": [],        # scripted answers for the next upserts
    "rejectIds": "",
    "tokens": {},        # issued OAuth2 token -> expiry (epoch seconds)
    "tokensIssued": 0,
    "unauthorized": 0,
}
AUTH = {"mode": "none"}
MODE = {"broker": "jsonld", "delay": 0.0}


def problem(kind, title, detail, status):
    return {"type": "https://uri.etsi.org/ngsi-ld/errors/" + kind, "title": title, "detail": detail, "status": status}


def valid_entity(entity):
    """None when the entity is well-formed, else the reason."""
    if not isinstance(entity, dict):
        return "entity is not a JSON object"
    if not isinstance(entity.get("id"), str) or not entity["id"].startswith("urn:ngsi-ld:"):
        return "id missing or not an NGSI-LD URN"
    if not isinstance(entity.get("type"), str):
        return "type missing"
    for name, attribute in entity.items():
        if name in ("id", "type", "@context"):
            continue
        instances = attribute if isinstance(attribute, list) else [attribute]
        for instance in instances:
            if not isinstance(instance, dict):
                return "attribute %s is not an object" % name
            kind = instance.get("type")
            if kind in ("Property", "GeoProperty") and "value" not in instance:
                return "attribute %s has no value" % name
            if kind == "Relationship" and "object" not in instance:
                return "relationship %s has no object" % name
            if kind not in ("Property", "GeoProperty", "Relationship"):
                return "attribute %s has type %r" % (name, kind)
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send_json(self, status, body=None, headers=None):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def authorized(self):
        mode = AUTH["mode"]
        if mode == "none":
            return True
        if mode == "bearer":
            ok = self.headers.get("Authorization") == "Bearer " + AUTH["token"]
        elif mode == "x-auth-token":
            ok = self.headers.get("X-Auth-Token") == AUTH["token"]
        else:  # oauth2
            header = self.headers.get("Authorization") or ""
            token = header[len("Bearer "):] if header.startswith("Bearer ") else ""
            with LOCK:
                expiry = STATE["tokens"].get(token)
            ok = expiry is not None and expiry > time.time()
        if not ok:
            with LOCK:
                STATE["unauthorized"] += 1
            self.send_json(401, problem("InvalidRequest", "Unauthorized", "missing or invalid credentials", 401),
                           {"WWW-Authenticate": "Bearer"})
        return ok

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        if url.path == "/_fake/received":
            with LOCK:
                snapshot = {key: STATE[key] for key in ("entities", "history", "upserts", "answers", "tokensIssued", "unauthorized")}
                self.send_json(200, snapshot)
            return
        prefix = "/ngsi-ld/v1/entities/"
        if url.path.startswith(prefix):
            if not self.authorized():
                return
            entity_id = urllib.parse.unquote(url.path[len(prefix):])
            with LOCK:
                expanded = STATE["expanded"].get(entity_id)
            if expanded is None:
                self.send_json(404, problem("ResourceNotFound", "Not Found", entity_id, 404))
                return
            context = with_core(link_context(self.headers.get("Link")))
            try:
                attrs = urllib.parse.parse_qs(url.query).get("attrs")
                if attrs:
                    # Terms are expanded with the request's context (core only without a Link).
                    wanted = set()
                    for term in attrs[0].split(","):
                        result = jsonld.expand({"@context": context, term: 0})
                        if result:
                            wanted.update(result[0].keys())
                    expanded = {k: v for k, v in expanded.items() if k in ("@id", "@type") or k in wanted}
                compacted = jsonld.compact(expanded, {"@context": context})
            except (ContextNotAvailable, jsonld.JsonLdError) as error:
                self.send_json(504, problem("LdContextNotAvailable", "Context not available", str(error)[:200], 504))
                return
            compacted.pop("@context", None)
            link = '<%s>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"' % context[0]
            self.send_json(200, compacted, {"Link": link})
            return
        self.send_json(404, problem("ResourceNotFound", "Not Found", url.path, 404))

    def do_POST(self):
        url = urllib.parse.urlparse(self.path)
        raw = self.body()
        if url.path == "/_fake/script":
            with LOCK:
                STATE["script"] += json.loads(raw)["responses"]
            self.send_json(204)
            return
        if url.path == "/_fake/config":
            with LOCK:
                STATE["rejectIds"] = json.loads(raw).get("rejectIds", "")
            self.send_json(204)
            return
        if url.path == "/token":
            self.token(raw)
            return
        if url.path == "/ngsi-ld/v1/entityOperations/upsert":
            if not self.authorized():
                return
            self.upsert(url, raw)
            return
        self.send_json(404, problem("ResourceNotFound", "Not Found", url.path, 404))

    def token(self, raw):
        form = urllib.parse.parse_qs(raw.decode())
        if AUTH["mode"] != "oauth2" or form.get("grant_type") != ["client_credentials"] \
                or form.get("client_id") != [AUTH["client"]] or form.get("client_secret") != [AUTH["secret"]]:
            self.send_json(401, {"error": "invalid_client"})
            return
        token = secrets.token_hex(16)
        with LOCK:
            STATE["tokens"][token] = time.time() + AUTH["expires"]
            STATE["tokensIssued"] += 1
        self.send_json(200, {"access_token": token, "token_type": "Bearer", "expires_in": AUTH["expires"]})

    def answer(self, status, body=None, headers=None):
        with LOCK:
            STATE["answers"].append(status)
        self.send_json(status, body, headers)

    def upsert(self, url, raw):
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        link = self.headers.get("Link")
        with LOCK:
            scripted = STATE["script"].pop(0) if STATE["script"] else None
            reject = STATE["rejectIds"]
        if scripted and scripted["status"] != 207:
            headers = {"Retry-After": str(scripted["retryAfter"])} if "retryAfter" in scripted else None
            kinds = {400: "BadRequestData", 429: "OperationNotSupported", 503: "InternalError", 504: "LdContextNotAvailable"}
            self.answer(scripted["status"], problem(kinds.get(scripted["status"], "InternalError"), "scripted", "scripted answer", scripted["status"]), headers)
            return
        try:
            entities = json.loads(raw)
        except ValueError:
            self.answer(400, problem("InvalidRequest", "Bad Request", "body is not JSON", 400))
            return
        if not isinstance(entities, list):
            self.answer(400, problem("BadRequestData", "Bad Request", "an upsert takes a JSON array", 400))
            return
        if content_type == "application/ld+json" and link:
            self.answer(400, problem("BadRequestData", "Bad Request", "Link header not allowed with application/ld+json", 400))
            return
        if content_type == "application/json" and any(isinstance(e, dict) and "@context" in e for e in entities):
            self.answer(400, problem("BadRequestData", "Bad Request", "@context in the body needs application/ld+json", 400))
            return
        if content_type not in ("application/json", "application/ld+json"):
            self.answer(415, problem("InvalidRequest", "Unsupported Media Type", content_type, 415))
            return
        fail = scripted.get("fail", "") if scripted else ""
        fail_status = scripted.get("failStatus", 400) if scripted else 400
        success, errors, created = [], [], []
        with LOCK:
            STATE["upserts"].append({"contentType": content_type, "link": link,
                                     "tenant": self.headers.get("NGSILD-Tenant"), "entities": entities})
            for entity in entities:
                entity_id = entity.get("id") if isinstance(entity, dict) else None
                reason = valid_entity(entity)
                if reason is None and fail and fail in entity_id:
                    reason = "scripted failure"
                if reason is None and reject and reject in entity_id:
                    reason = "refused by the fake's rejectIds"
                if reason is None and MODE["broker"] == "orion-ld-1" and any(
                        isinstance(attribute, list) and any(isinstance(i, dict) and "datasetId" in i for i in attribute)
                        for attribute in entity.values()):
                    # Orion-LD 1.x: no datasetId in batch operations (real-hubs.md).
                    reason = "attribute must be a JSON object"
                expanded = None
                if reason is None:
                    try:
                        expanded = expand(entity, link_context(link) if content_type == "application/json" else None)
                    except ContextNotAvailable as missing:
                        errors.append({"entityId": entity_id, "error": problem("LdContextNotAvailable", "Context not available", str(missing)[:200], 504)})
                        continue
                if reason is not None:
                    status = fail_status if reason == "scripted failure" else 400
                    kind = "InternalError" if status >= 500 else "BadRequestData"
                    errors.append({"entityId": entity_id, "error": problem(kind, "Bad Request Data" if status < 500 else "Internal Error", reason, status)})
                    continue
                stored = STATE["entities"].get(entity_id)
                if stored is None:
                    created.append(entity_id)
                    stored = {"id": entity_id, "type": entity["type"]}
                for name, attribute in entity.items():
                    if name in ("id", "type"):
                        continue
                    stored[name] = attribute
                    for instance in attribute if isinstance(attribute, list) else [attribute]:
                        if isinstance(instance, dict) and "observedAt" in instance:
                            key = "%s|%s|%s" % (entity_id, name, instance.get("datasetId", ""))
                            STATE["history"].setdefault(key, []).append([instance["observedAt"], instance.get("value")])
                STATE["entities"][entity_id] = stored
                # The broker's own copy: expanded, attributes replaced by IRI (options=update).
                STATE["expanded"].setdefault(entity_id, {}).update(expanded)
                success.append(entity_id)
        if MODE["delay"]:
            time.sleep(MODE["delay"])
        if errors:
            self.answer(207, {"success": success, "errors": errors})
        elif created:
            self.answer(201, created)
        else:
            self.answer(204)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--auth", default="none")
    parser.add_argument("--mode", choices=["jsonld", "orion-ld-1"], default="jsonld")
    parser.add_argument("--delay-ms", type=int, default=0)
    args = parser.parse_args()
    MODE["broker"] = args.mode
    MODE["delay"] = args.delay_ms / 1000.0
    parts = args.auth.split(":")
    AUTH["mode"] = parts[0]
    if parts[0] in ("bearer", "x-auth-token"):
        AUTH["token"] = parts[1]
    elif parts[0] == "oauth2":
        AUTH.update(client=parts[1], secret=parts[2], expires=int(parts[3]))
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
