"""Peer celery-redis for joins: Celery's GroupResult.join of a saved group whose results are stored.

    celery_join.py BACKEND_URL GROUP_ID   -> {"ms": milliseconds join() took, "count": results}
"""
import json
import sys
import time

from celery import Celery
from celery.result import GroupResult

url, gid = sys.argv[1], sys.argv[2]
app = Celery("bench", backend=url, broker="memory://")
app.conf.result_serializer = "json"
group = GroupResult.restore(gid, app=app)
start = time.perf_counter()
values = group.join(timeout=120, propagate=True)
elapsed = time.perf_counter() - start
print(json.dumps({"ms": elapsed * 1000, "count": len(values)}))
