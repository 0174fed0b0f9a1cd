"""Peer celery-redis: Celery's own RedisBackend.store_result, as a Celery worker process calls it.

    celery_store_rate.py BACKEND_URL COUNT   -> {"rate": results per second}
"""
import json
import sys
import time
import uuid

from celery import Celery

url, count = sys.argv[1], int(sys.argv[2])
app = Celery("bench", backend=url, broker="memory://")
app.conf.result_serializer = "json"
backend = app.backend
value = {"status": "done", "code": 42, "items": [1, 2, 3]}
prefix = uuid.uuid4().hex
for i in range(200):  # connect and warm up
    backend.store_result(f"{prefix}-w{i}", value, "SUCCESS")
start = time.perf_counter()
for i in range(count):
    backend.store_result(f"{prefix}-{i}", value, "SUCCESS")
elapsed = time.perf_counter() - start
print(json.dumps({"rate": count / elapsed}))
