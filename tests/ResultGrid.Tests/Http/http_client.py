"""A client of ResultGrid's HTTP API in Python's standard library alone (urllib, json): what any
service without a ResultGrid SDK does. Debian's python3 runs it; no third-party module is used.

    http_client.py BASE_URL wait TASK_ID TIMEOUT_SECONDS
        prints {"event": "waiting"} just before the request is sent, then {"event": "answer", ...}
    http_client.py BASE_URL put TASK_ID RESULT_JSON
        stores RESULT_JSON as the task's SUCCESS, prints {"event": "answer", ...}

BASE_URL is the API group, e.g. http://127.0.0.1:5080/api. Each line on stdout is one JSON
object: "status" is the HTTP status, "body" the decoded JSON answer (or the text when it is not
JSON), "elapsed" the seconds the request took. Exit code 0 whenever an answer came back, whatever
its status: the caller judges it.
"""
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


# No proxy from http_proxy and the like: the API under test is on this machine's loopback, and a
# proxy in the environment would answer for it (urllib does not bypass loopback by itself).
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def emit(**fields):
    # Flushed at once: the .NET side reads the lines while this process still runs.
    print(json.dumps(fields), flush=True)


def send(request, timeout):
    started = time.monotonic()
    try:
        with OPENER.open(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
            content_type = response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as error:
        # 4xx and 5xx carry a problem+json body: report it rather than raise.
        status, raw = error.code, error.read()
        content_type = error.headers.get("Content-Type", "")
    elapsed = time.monotonic() - started
    text = raw.decode("utf-8")
    body = json.loads(text) if "json" in content_type and text else text
    emit(event="answer", status=status, contentType=content_type, elapsed=round(elapsed, 3), body=body)


def result_url(base, task_id, suffix=""):
    return f"{base.rstrip('/')}/v1/results/{urllib.parse.quote(task_id, safe='')}{suffix}"


def main():
    base, mode, task_id = sys.argv[1], sys.argv[2], sys.argv[3]
    headers = {"Accept": "application/json"}
    if mode == "wait":
        timeout = float(sys.argv[4])
        url = result_url(base, task_id, "/wait?" + urllib.parse.urlencode({"timeout": sys.argv[4]}))
        emit(event="waiting", url=url)
        # The socket timeout is longer than the server's, so the server's answer (ready or not)
        # always arrives instead of a client-side timeout.
        send(urllib.request.Request(url, headers=headers), timeout + 10)
    elif mode == "put":
        body = json.dumps({"state": "SUCCESS", "result": json.loads(sys.argv[4])}).encode("utf-8")
        request = urllib.request.Request(
            result_url(base, task_id), data=body, method="PUT",
            headers={**headers, "Content-Type": "application/json"})
        send(request, 30)
    else:
        raise SystemExit(f"unknown mode {mode!r}: wait or put")


if __name__ == "__main__":
    main()
