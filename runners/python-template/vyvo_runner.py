"""The runner contract (runners/CONTRACT.md) in stdlib-only Python 3.9+.

Copy this file next to your model code and call `serve(...)`; see main.py and README.md.
It binds PORT (0 picks a free port), prints "vyvo-runner listening on HOST:PORT", answers
GET /health (503 while `setup` runs), streams POST /run as NDJSON, and handles POST /cancel,
a closed request, 429 when busy and SIGTERM.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

ValidationIssue = Dict[str, Any]  # {"loc": [...], "msg": str, "type": str, "ctx"?: {...}}
LOG_LEVELS = ("debug", "info", "warn", "error")
MAX_BODY_BYTES = 64 * 1024 * 1024


class RunnerError(Exception):
    """Raise from `run` to choose the error_type and whether the job may be retried."""

    def __init__(self, message: str, error_type: str = "runner_error", retryable: bool = False,
                 detail: Optional[List[ValidationIssue]] = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.retryable = retryable
        self.detail = detail


class InputError(RunnerError):
    """A validation_error found while running (for example an input URL that does not load)."""

    def __init__(self, detail: List[ValidationIssue]) -> None:
        message = "; ".join(".".join(str(part) for part in issue["loc"]) + ": " + issue["msg"] for issue in detail)
        super().__init__(message, "validation_error", False, detail)


class Cancelled(RunnerError):
    """Raised by `ctx.check_cancelled()`; the SDK turns it into the right final line."""


CANCELLED_BY_CLIENT = Cancelled("cancelled: client closed the request", "cancelled", False)
CANCELLED_BY_REQUEST = Cancelled("cancelled: cancel requested", "cancelled", False)
SHUTTING_DOWN = Cancelled("runner is shutting down", "runner_shutdown", True)


class RunContext:
    """What a run function gets besides its input."""

    def __init__(self, request_id: str, route: Optional[str], output_dir: str,
                 emit: Callable[[Dict[str, Any]], None]) -> None:
        self.request_id = request_id
        self.route = route
        self.output_dir = os.path.abspath(output_dir)
        self.cancelled = threading.Event()  # set when the run must stop
        self.cancel_reason: Optional[Cancelled] = None
        self._emit = emit

    def log(self, level: str, message: str) -> None:
        self._emit({"type": "log", "level": level if level in LOG_LEVELS else "info", "message": str(message)})

    def progress(self, progress: float, message: Optional[str] = None) -> None:
        line: Dict[str, Any] = {"type": "progress", "progress": round(min(1.0, max(0.0, float(progress))), 4)}
        if message is not None:
            line["message"] = message
        self._emit(line)

    def check_cancelled(self) -> None:
        """Call between steps (e.g. each diffusion step): raises if the run was cancelled."""
        if self.cancelled.is_set():
            raise self.cancel_reason or CANCELLED_BY_REQUEST

    def wait(self, seconds: float) -> None:
        """Sleeps, but wakes and raises at once if the run is cancelled."""
        if self.cancelled.wait(seconds):
            self.check_cancelled()

    def output_file(self, name: str) -> str:
        """Absolute path of a file named `name` directly inside output_dir."""
        if name in ("", ".", "..") or os.path.basename(name) != name:
            raise RunnerError(f"output file name must be a plain file name, got {name!r}")
        return os.path.join(self.output_dir, name)

    def file_url(self, path: str) -> str:
        """The file:// URL of a file inside output_dir, as results must carry it."""
        absolute = os.path.abspath(os.path.join(self.output_dir, path))
        if os.path.commonpath([absolute, self.output_dir]) != self.output_dir or absolute == self.output_dir:
            raise RunnerError(f"{absolute} is not inside the output folder {self.output_dir}; it would not be uploaded")
        return Path(absolute).as_uri()

    def _cancel(self, reason: Cancelled) -> None:
        if not self.cancelled.is_set():
            self.cancel_reason = reason
            self.cancelled.set()


class _Runner:
    def __init__(self, name: str, run: Callable[[Dict[str, Any], RunContext], Dict[str, Any]],
                 setup: Optional[Callable[[], None]], validate: Optional[Callable[[Dict[str, Any]], List[ValidationIssue]]],
                 max_concurrency: int, heartbeat_seconds: float) -> None:
        self.name = name
        self.run = run
        self.setup = setup
        self.validate = validate
        self.max_concurrency = max_concurrency
        self.heartbeat_seconds = heartbeat_seconds
        self.state = "loading"  # loading | ready | failed | stopping
        self.setup_error = ""
        self.lock = threading.Lock()
        self.active: Dict[str, RunContext] = {}
        self.idle = threading.Condition(self.lock)

    def diagnostic(self, message: str) -> None:
        print(f"[{self.name}] {message}", file=sys.stderr, flush=True)


def _make_handler(runner: _Runner):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "vyvo-runner"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            pass  # one line per run is written instead; per-request lines would drown the model's own logs

        def _send_json(self, status: int, body: Dict[str, Any]) -> None:
            data = json.dumps(body, separators=(",", ":")).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _read_json(self) -> Any:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                raise ValueError("body too large")
            return json.loads(self.rfile.read(length) or b"null")

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            if self.path != "/health":
                self._send_json(405 if self.path in ("/run", "/cancel") else 404, {"error": "not found"})
            elif runner.state == "ready":
                with runner.lock:
                    running = len(runner.active)
                self._send_json(200, {"status": "ok", "max_concurrency": runner.max_concurrency, "running": running})
            elif runner.state == "failed":
                self._send_json(500, {"status": "failed", "error": runner.setup_error})
            else:
                self._send_json(503, {"status": runner.state})

        def do_POST(self) -> None:  # noqa: N802
            if self.path == "/run":
                self._handle_run()
            elif self.path == "/cancel":
                self._handle_cancel()
            else:
                self._send_json(405 if self.path == "/health" else 404, {"error": "not found"})

        def _handle_cancel(self) -> None:
            try:
                request_id = self._read_json().get("request_id")
            except (ValueError, AttributeError):
                self._send_json(400, {"error": "body must be JSON with a request_id", "error_type": "bad_request"})
                return
            with runner.lock:
                context = runner.active.get(request_id) if isinstance(request_id, str) else None
            if context is None:
                self._send_json(404, {"cancelled": False, "error": "no such run in progress"})
                return
            context._cancel(CANCELLED_BY_REQUEST)
            self._send_json(200, {"cancelled": True})

        def _envelope_error(self, body: Any) -> Optional[str]:
            if not isinstance(body, dict):
                return "body must be a JSON object"
            if not isinstance(body.get("request_id"), str) or not body["request_id"]:
                return "request_id must be a non-empty string"
            if not isinstance(body.get("input"), dict):
                return "input must be a JSON object"
            if body.get("route") is not None and not isinstance(body["route"], str):
                return "route must be a string or null"
            if not isinstance(body.get("output_dir"), str) or not os.path.isabs(body["output_dir"]):
                return "output_dir must be an absolute path"
            return None

        def _handle_run(self) -> None:
            try:
                body = self._read_json()
            except ValueError as error:
                self._send_json(400, {"error": f"body is not valid JSON: {error}", "error_type": "bad_request"})
                return
            if runner.state != "ready":
                self._send_json(503, {"status": runner.state})
                return
            problem = self._envelope_error(body)
            if problem:
                self._send_json(400, {"error": problem, "error_type": "bad_request"})
                return
            request_id = body["request_id"]
            write_lock = threading.Lock()
            done = threading.Event()
            last_write = [time.monotonic()]
            finished = [False]  # set with the final line: nothing may follow it

            def emit(line: Dict[str, Any]) -> None:
                data = (json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
                with write_lock:
                    if finished[0]:
                        return
                    finished[0] = line["type"] in ("result", "error")
                    try:
                        # One HTTP/1.1 chunk per line, flushed at once.
                        self.wfile.write(b"%X\r\n%s\r\n" % (len(data), data))
                        self.wfile.flush()
                        last_write[0] = time.monotonic()
                    except OSError:
                        context._cancel(CANCELLED_BY_CLIENT)

            context = RunContext(request_id, body.get("route"), body["output_dir"], emit)
            with runner.lock:
                if request_id in runner.active:
                    self._send_json(409, {"error": "a run with this request_id is in progress", "error_type": "bad_request"})
                    return
                if len(runner.active) >= runner.max_concurrency:
                    self._send_json(429, {"error": "busy", "max_concurrency": runner.max_concurrency})
                    return
                runner.active[request_id] = context

            self.send_response(200)
            self.send_header("Content-Type", "application/x-ndjson; charset=utf-8")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.flush()
            self.close_connection = True

            threading.Thread(target=self._watch_connection, args=(context, done), daemon=True).start()
            threading.Thread(target=self._heartbeat, args=(emit, done, last_write), daemon=True).start()
            started = time.monotonic()
            runner.diagnostic(f"run {request_id} started")
            outcome = "failed"
            try:
                final = self._execute(body["input"], context)
                if final["type"] == "result":
                    outcome = "succeeded"
                elif context.cancelled.is_set():
                    outcome = f"aborted ({final['error']})"
                emit(final)
            finally:
                done.set()
                with write_lock:
                    finished[0] = True
                    try:
                        self.wfile.write(b"0\r\n\r\n")  # the last chunk
                        self.wfile.flush()
                    except OSError:
                        pass
                with runner.lock:
                    runner.active.pop(request_id, None)
                    runner.idle.notify_all()
                runner.diagnostic(f"run {request_id} {outcome} after {int((time.monotonic() - started) * 1000)} ms")

        def _execute(self, input_: Dict[str, Any], context: RunContext) -> Dict[str, Any]:
            try:
                issues = runner.validate(input_) if runner.validate else []
                if issues:
                    raise InputError(issues)
                os.makedirs(context.output_dir, exist_ok=True)
                context.check_cancelled()  # cancelled before it began: don't start the work
                output = runner.run(input_, context)
                context.check_cancelled()
                if not isinstance(output, dict):
                    raise RunnerError("run() must return a dict")
                json.dumps(output)  # fail here, as a runner_error, if it is not JSON
                return {"type": "result", "output": output}
            except Exception as error:  # noqa: BLE001 - every failure becomes the run's final line
                # Once cancelled, the cancel reason is the outcome, whatever run() raised or returned.
                reason: BaseException = context.cancel_reason if context.cancelled.is_set() else error
                if isinstance(reason, RunnerError):
                    line: Dict[str, Any] = {"type": "error", "error": str(reason), "error_type": reason.error_type,
                                            "retryable": reason.retryable}
                    if reason.detail is not None:
                        line["detail"] = reason.detail
                    return line
                runner.diagnostic(f"run {context.request_id} raised:\n{traceback.format_exc()}")
                return {"type": "error", "error": str(reason) or type(reason).__name__, "error_type": "runner_error",
                        "retryable": False}

        def _watch_connection(self, context: RunContext, done: threading.Event) -> None:
            """The agent closing the request means: cancel. A closed socket reads as EOF."""
            sock: socket.socket = self.connection
            while not done.is_set():
                try:
                    readable, _, _ = select.select([sock], [], [], 0.1)
                    if readable and not sock.recv(1, socket.MSG_PEEK):
                        context._cancel(CANCELLED_BY_CLIENT)
                        return
                except (OSError, ValueError):
                    context._cancel(CANCELLED_BY_CLIENT)
                    return
                if readable:
                    time.sleep(0.1)  # unexpected bytes after the body: not a close, don't spin on them

        def _heartbeat(self, emit: Callable[[Dict[str, Any]], None], done: threading.Event, last_write: List[float]) -> None:
            while not done.wait(runner.heartbeat_seconds / 2):
                if time.monotonic() - last_write[0] >= runner.heartbeat_seconds:
                    emit({"type": "heartbeat"})

    return Handler


def serve(*, name: str, run: Callable[[Dict[str, Any], RunContext], Dict[str, Any]],
          setup: Optional[Callable[[], None]] = None,
          validate: Optional[Callable[[Dict[str, Any]], List[ValidationIssue]]] = None,
          max_concurrency: int = 1, heartbeat_seconds: float = 15.0, shutdown_timeout_seconds: float = 10.0) -> None:
    """Serves until SIGTERM/SIGINT, then stops runs in flight and exits 0; exits 1 if setup fails."""
    port = int(os.environ.get("PORT", ""))
    host = os.environ.get("VYVO_RUNNER_HOST") or "127.0.0.1"
    runner = _Runner(name, run, setup, validate, max_concurrency, heartbeat_seconds)
    server = ThreadingHTTPServer((host, port), _make_handler(runner))
    server.daemon_threads = True
    print(f"vyvo-runner listening on {host}:{server.server_address[1]}", flush=True)

    def load() -> None:
        try:
            if setup:
                setup()
            if runner.state == "loading":
                runner.state = "ready"
                runner.diagnostic("ready")
        except Exception as error:  # noqa: BLE001
            runner.setup_error = str(error) or type(error).__name__
            runner.state = "failed"
            runner.diagnostic(f"setup failed:\n{traceback.format_exc()}")
            os._exit(1)

    def stop() -> None:
        runner.state = "stopping"
        with runner.lock:
            for context in runner.active.values():
                context._cancel(SHUTTING_DOWN)
            deadline = time.monotonic() + shutdown_timeout_seconds
            while runner.active and time.monotonic() < deadline:
                runner.idle.wait(deadline - time.monotonic())
        server.shutdown()

    def on_signal(signum: int, _frame: Any) -> None:
        if runner.state == "stopping":
            os._exit(1)  # a second signal means "now"
        runner.diagnostic(f"{signal.Signals(signum).name}: shutting down")
        threading.Thread(target=stop, daemon=True).start()  # shutdown() must not run on the serving thread

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    threading.Thread(target=load, daemon=True).start()
    server.serve_forever(poll_interval=0.1)
    server.server_close()
