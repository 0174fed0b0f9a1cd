"""Peers celery-redis and celery-db: Celery's own backend store_result, as Celery's workers call it.

    celery_store_rate.py BACKEND_URL COUNT [PROCESSES]   -> {"rate": results per second, "processes": n}

A Celery worker runs as many processes as the machine has cores (the prefork pool's default
concurrency, os.cpu_count()), each with its own backend connection: so do these, PROCESSES of
them (default os.cpu_count()), each storing COUNT / PROCESSES results after its own warm-up. They
start together (a barrier), and the rate is every result over the time from that start until the
last process has stored its share.
"""
import json
import multiprocessing
import os
import sys
import time
import uuid

VALUE = {"status": "done", "code": 42, "items": [1, 2, 3]}


def worker(url, count, ready, done):
    from celery import Celery

    app = Celery("bench", backend=url, broker="memory://")
    app.conf.result_serializer = "json"
    backend = app.backend
    prefix = uuid.uuid4().hex
    for i in range(200):  # connect and warm up
        backend.store_result(f"{prefix}-w{i}", VALUE, "SUCCESS")
    ready.wait()
    for i in range(count):
        backend.store_result(f"{prefix}-{i}", VALUE, "SUCCESS")
    done.put(time.perf_counter())


def main():
    url, count = sys.argv[1], int(sys.argv[2])
    processes = int(sys.argv[3]) if len(sys.argv) > 3 else (os.cpu_count() or 1)
    # fork, as Celery's prefork pool does (and perf_counter is one clock across forked processes on Linux).
    context = multiprocessing.get_context("fork")
    ready = context.Barrier(processes + 1, timeout=120)
    done = context.Queue()
    shares = [count // processes + (1 if p < count % processes else 0) for p in range(processes)]
    workers = [context.Process(target=worker, args=(url, share, ready, done)) for share in shares]
    for w in workers:
        w.start()
    ready.wait()
    start = time.perf_counter()
    ends = [done.get(timeout=600) for _ in workers]
    for w in workers:
        w.join()
        if w.exitcode != 0:
            sys.exit(f"a Celery peer process exited with {w.exitcode}")
    print(json.dumps({"rate": count / (max(ends) - start), "processes": processes}))


if __name__ == "__main__":
    main()
