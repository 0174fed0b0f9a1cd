"""The real Celery (Debian's python3-celery) on the same Redis as ResultGrid.

    celery_interop.py BACKEND_URL read TASK_ID          -> prints what AsyncResult(id).get() gave
    celery_interop.py BACKEND_URL store TASK_ID KIND    -> stores a result the way a Celery worker does

Prints one JSON object on stdout.
"""
import json
import sys

from celery import Celery


def main():
    backend_url, command, task_id = sys.argv[1], sys.argv[2], sys.argv[3]
    app = Celery("interop", backend=backend_url, broker="memory://")
    app.conf.result_serializer = "json"
    app.conf.accept_content = ["json"]
    app.conf.result_accept_content = ["json"]
    app.conf.result_extended = True
    result = app.AsyncResult(task_id)

    if command == "read":
        out = {"state": result.state}
        try:
            out["result"] = result.get(timeout=10, propagate=True)
        except Exception as exc:  # the failure as Celery re-creates it
            out["exc_type"] = type(exc).__name__
            out["exc_args"] = [a if isinstance(a, (str, int, float, bool, type(None))) else repr(a) for a in exc.args]
        out["traceback"] = result.traceback
        out["date_done"] = str(result.date_done) if result.date_done else None
        out["name"] = result.name
        print(json.dumps(out))
    elif command == "store":
        kind = sys.argv[4]
        backend = app.backend
        if kind == "success":
            backend.store_result(task_id, {"a": [1, 2.5, None, "\u00fc"]}, "SUCCESS")
        elif kind == "failure":
            try:
                raise ValueError("bad value", 42)
            except ValueError as exc:
                import traceback
                backend.mark_as_failure(task_id, exc, traceback=traceback.format_exc())
        elif kind == "progress":
            backend.store_result(task_id, {"current": 3, "total": 10}, "PROGRESS")
        else:
            raise SystemExit(f"unknown kind {kind}")
        print(json.dumps({"stored": kind}))
    elif command == "restore-group":
        from celery.result import GroupResult
        group = GroupResult.restore(task_id, app=app)
        print(json.dumps({"ids": [r.id for r in group.results] if group else None}))
    elif command == "save-group":
        from celery.result import GroupResult
        ids = sys.argv[4].split(",")
        GroupResult(task_id, [app.AsyncResult(i) for i in ids], app=app).save(backend=app.backend)
        print(json.dumps({"saved": len(ids)}))
    elif command == "store-many":
        # TASK_ID is a prefix here: PREFIX-0 … PREFIX-(N-1), stored as a Celery worker does
        # (extended meta, Celery's default result_expires of a day as the key's TTL), then saved
        # as one group PREFIX-group.
        from celery.result import GroupResult
        count = int(sys.argv[4])
        ids = [f"{task_id}-{i}" for i in range(count)]
        for i, tid in enumerate(ids):
            request = type("Request", (), {"id": tid, "task": "celery.add", "args": [i, 1], "kwargs": {"k": i},
                                           "hostname": "celery@py", "retries": 0, "delivery_info": {"routing_key": "celery"},
                                           "group": None, "parent_id": None, "root_id": None, "ignore_result": False,
                                           "properties": {}, "children": [], "chord": None, "origin": None})()
            app.backend.store_result(tid, {"sum": i + 1, "text": "\u00fc" * (i % 5)}, "SUCCESS", request=request)
        GroupResult(f"{task_id}-group", [app.AsyncResult(i) for i in ids], app=app).save(backend=app.backend)
        print(json.dumps({"stored": count}))
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main()
