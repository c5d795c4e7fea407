"""Shared plumbing of the client drivers: argv parsing, byte encoding and the one-line JSON reply.

Every driver is called as `driver.py BOOTSTRAP 'JSON-COMMAND'` and prints exactly one JSON line
on stdout: {"ok": true, "client": ..., "op": ..., "result": ...} or
{"ok": false, "client": ..., "op": ..., "error": {"type", "message", "code", "name"}}.
It exits 0 when ok, 1 otherwise. Client logs go to stderr only.
"""

import base64
import json
import sys
import traceback


def parse_argv():
    if len(sys.argv) != 3:
        sys.stderr.write("usage: %s BOOTSTRAP 'JSON-COMMAND'\n" % sys.argv[0])
        sys.exit(2)
    bootstrap = sys.argv[1]
    command = json.loads(sys.argv[2])
    if not isinstance(command, dict) or not isinstance(command.get("op"), str):
        sys.stderr.write("the command must be a JSON object with an 'op' string\n")
        sys.exit(2)
    return bootstrap, command


def to_bytes(value, b64=None):
    """A message key or value from the command: a string (UTF-8), null, or base64 text in *_b64."""
    if b64 is not None:
        return base64.b64decode(b64)
    if value is None:
        return None
    if isinstance(value, str):
        return value.encode("utf-8")
    raise ValueError("keys and values must be strings, null, or given as *_b64")


def from_bytes(data):
    """Bytes for JSON: text when it is UTF-8, else {"b64": ...}; None stays null."""
    if data is None:
        return None
    if isinstance(data, str):
        return data
    try:
        return bytes(data).decode("utf-8")
    except UnicodeDecodeError:
        return {"b64": base64.b64encode(bytes(data)).decode("ascii")}


def headers_in(headers):
    """Headers from the command: [[name, value], ...] or {name: value}; values are strings or null."""
    if headers is None:
        return None
    pairs = headers.items() if isinstance(headers, dict) else headers
    return [(str(k), to_bytes(v)) for k, v in pairs]


def headers_out(headers):
    if not headers:
        return []
    return [[k, from_bytes(v)] for k, v in headers]


def reply(client, op, result=None, error=None):
    out = {"ok": error is None, "client": client, "op": op}
    if error is None:
        out["result"] = result
    else:
        out["error"] = error
    sys.stdout.write(json.dumps(out, default=str) + "\n")
    sys.stdout.flush()


def main(client, ops, error_info):
    """Runs ops[command["op"]](bootstrap, command) and prints its reply; exceptions become errors."""
    bootstrap, command = parse_argv()
    op = command["op"]
    handler = ops.get(op)
    if handler is None:
        reply(client, op, error={"type": "UnknownOp", "message": "unknown op %r; known: %s" % (op, sorted(ops)),
                                 "code": None, "name": None})
        sys.exit(1)
    try:
        result = handler(bootstrap, command)
    except Exception as e:  # noqa: BLE001 - every failure is reported as data
        traceback.print_exc(file=sys.stderr)
        reply(client, op, error=error_info(e))
        sys.exit(1)
    reply(client, op, result=result)
    sys.exit(0)
