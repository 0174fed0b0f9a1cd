"""Debian's Celery 5.2 writing its database backend (SQLAlchemy) tables for ResultGrid's tests.

  celery_db.py pickles                 every plain shape pickled at protocols 0 to 5, with the JSON
                                       ResultGrid must read from each, and a few pickles to refuse
  celery_db.py write URL MARKER_FILE   results of every shape, failures (json and pickle result
                                       serializers), a saved group, extended fields, an expired row
                                       and a row whose pickle would create MARKER_FILE, into the
                                       db+ URL's tables; prints what was written, as JSON

No broker: the backend is called directly, as a worker's task would call it.
"""
import base64
import datetime
import json
import math
import pickle
import sys


def shapes():
    shared = [1, 2]
    return {
        "none": None,
        "bools": [True, False],
        "ints": [0, 1, -1, 255, 256, 65535, 65536, 2**31 - 1, -2**31, 2**31, 2**63 - 1, -2**63, 2**63, 2**64 + 1, -(2**100), 10**40],
        "floats": [0.0, -0.0, 1.5, -2.25, 1e100, 1e-7, 3.141592653589793, 1.0, 123456789.125],
        "nonfinite": [math.nan, math.inf, -math.inf],
        "strings": ["", "plain", "\u00fc\u20ac\U0001d11e", "line\nbreak", "quote\"'\\", "x" * 300, "\x00"],
        "bytes": [b"\x00\xffabc", bytearray(b"xy"), b""],
        "nested": {"a": [1, (2, 3), {"b": None}], "c": ()},
        "tuple": (1, "two", 3.0),
        "empty_tuple": (),
        "keys": {1: "int", True: "bool", None: "none", 2.5: "float", "s": "str"},
        "set": {1, 2, 3},
        "frozenset": frozenset(["a"]),
        "shared": [shared, shared],
        "long_list": list(range(2500)),
        "big_dict": {str(i): i for i in range(1200)},
    }


def expected(value):
    """The JSON ResultGrid must make of a value: Celery's json rules, bytes under ResultGrid's marker."""
    if isinstance(value, (bytes, bytearray)):
        return {"__type__": "bytes", "__base64__": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, dict):
        return {k: expected(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [expected(v) for v in value]
    return value


class Thing:
    """A user's class: its pickle is GLOBAL __main__.Thing + NEWOBJ + BUILD."""

    def __init__(self):
        self.x = 1


class Evil:
    """Unpickled by Python, this would run exec(...) and create the marker file."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (exec, (f"open({self.path!r}, 'w').write('pwned')",))


class QuotaExceeded(Exception):
    pass


def pickles():
    out = {"shapes": {}, "refused": {}}
    for name, value in shapes().items():
        out["shapes"][name] = {
            "expected": json.dumps(expected(value)),
            "pickles": {str(p): base64.b64encode(pickle.dumps(value, protocol=p)).decode() for p in range(0, 6)},
        }
    deep = []
    for _ in range(100):
        deep = [deep]
    laughs = [0]
    for _ in range(40):
        laughs = [laughs, laughs]
    out["refused"] = {
        "instance": base64.b64encode(pickle.dumps(Thing(), protocol=4)).decode(),
        "instance_p0": base64.b64encode(pickle.dumps(Thing(), protocol=0)).decode(),
        "exec": base64.b64encode(pickle.dumps(Evil("/nonexistent/never"), protocol=5)).decode(),
        "deep": base64.b64encode(pickle.dumps(deep, protocol=4)).decode(),
        "laughs": base64.b64encode(pickle.dumps(laughs, protocol=4)).decode(),
        "tuple_key": base64.b64encode(pickle.dumps({(1, 2): "x"}, protocol=4)).decode(),
    }
    json.dump(out, sys.stdout)


def write(url, marker):
    from celery import Celery
    from celery.app.task import Context
    from celery.result import AsyncResult, GroupResult

    app = Celery("rg", backend=url, set_as_current=False)
    app.conf.result_extended = True
    backend = app.backend
    written = {"results": {}, "failures": {}, "group": None}

    def request(i):
        return Context(task="reports.build", args=[i, "x"], kwargs={"k": i}, hostname="worker-1@host",
                       retries=i % 3, delivery_info={"routing_key": "reports"})

    for i, (name, value) in enumerate(shapes().items()):
        if name == "nonfinite":
            continue
        backend.store_result(f"shape-{name}", value, "SUCCESS", request=request(i))
        written["results"][f"shape-{name}"] = json.dumps(expected(value))
    backend.store_result("shape-nonfinite", [math.nan, math.inf, -math.inf], "SUCCESS")
    written["results"]["shape-nonfinite"] = json.dumps([math.nan, math.inf, -math.inf])

    backend.store_result("started-1", {"progress": 50}, "STARTED")
    try:
        raise KeyError("missing-key")
    except KeyError as exc:
        backend.mark_as_failure("failure-json", exc, traceback="Traceback (most recent call last):\nKeyError: 'missing-key'", request=request(7))

    pickled = Celery("rg", backend=url, set_as_current=False)
    pickled.conf.result_serializer = "pickle"
    pickled.conf.accept_content = ["pickle", "json"]
    pickled.conf.result_extended = True
    pickled.backend.mark_as_failure("failure-pickle", ValueError("boom", 42), traceback="Traceback\nValueError: boom", request=request(8))
    pickled.backend.mark_as_failure("failure-custom", QuotaExceeded("over quota"))
    pickled.backend.store_result("pickle-success", {"a": (1, 2)}, "SUCCESS", request=request(9))

    backend.store_result("evil-1", Evil(marker), "SUCCESS")
    backend.store_result("expired-1", "old", "SUCCESS")
    session = backend.ResultSession()
    session.query(backend.task_cls).filter(backend.task_cls.task_id == "expired-1").update(
        {"date_done": datetime.datetime.utcnow() - datetime.timedelta(days=2)})
    session.commit()
    session.close()

    children = [AsyncResult(f"shape-{n}", app=app) for n in ("ints", "strings", "nested")]
    backend.save_group("group-1", GroupResult("group-1", children, app=app))
    written["group"] = {"id": "group-1", "children": [c.id for c in children]}
    json.dump(written, sys.stdout)


if __name__ == "__main__":
    if sys.argv[1] == "pickles":
        pickles()
    elif sys.argv[1] == "write":
        write(sys.argv[2], sys.argv[3])
    else:
        sys.exit(f"unknown command {sys.argv[1]}")
