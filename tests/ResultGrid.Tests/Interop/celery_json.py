"""Python's JSON as Celery writes and reads it (Debian's python3-celery), on the same Redis as ResultGrid.

    celery_json.py BACKEND_URL store TASK_ID KIND   -> stores SHAPES[KIND] the way a Celery worker does
    celery_json.py BACKEND_URL check TASK_ID KIND   -> AsyncResult(id) compared with SHAPES[KIND] in Python

Prints one JSON object on stdout (allow_nan, so a nan shows as NaN): for check, the state, the
repr of what Celery returned, and whether it equals the shape (nan-aware, and of the same types:
an int is not a float, 2**100 is not 1.2676506002282294e+30).
"""
import json
import math
import sys

from celery import Celery

nan, inf = float("nan"), float("inf")

# KIND -> (state, value)
SHAPES = {
    "floats": ("SUCCESS", [nan, 1.5, inf, -inf]),
    "bigint": ("SUCCESS", 2 ** 100),
    "bigneg": ("SUCCESS", -(2 ** 100)),
    "bigdict": ("SUCCESS", {"big": -(2 ** 90)}),
    "int128": ("SUCCESS", {"max": 2 ** 127 - 1, "min": -(2 ** 127), "umax": 2 ** 128 - 1}),
    "nested": ("SUCCESS", {"a": [nan, {"b": inf}], "c": -inf, "n": 10 ** 30, "s": "NaN"}),
    "progress-nan": ("PROGRESS", {"ratio": nan, "done": 3}),
}


def same(a, b):
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


def main():
    backend_url, command, task_id, kind = sys.argv[1:5]
    app = Celery("interop", backend=backend_url, broker="memory://")
    app.conf.result_serializer = "json"
    app.conf.accept_content = ["json"]
    app.conf.result_accept_content = ["json"]
    state, value = SHAPES[kind]
    result = app.AsyncResult(task_id)

    if command == "store":
        app.backend.store_result(task_id, value, state)
        print(json.dumps({"stored": kind}))
    elif command == "check":
        got = result.get(timeout=10) if state == "SUCCESS" else result.info
        print(json.dumps({"state": result.state, "repr": repr(got), "equal": same(value, got),
                          "date_done": str(result.date_done) if result.date_done else None}, allow_nan=True))
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main()
