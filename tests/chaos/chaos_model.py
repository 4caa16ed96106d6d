"""A stand-in for the external LLM (OpenAI-compatible chat completions) that can be made to hang.

It is the model endpoint the suggest service calls (TASKFLOW_LLM_BASE_URL): outside TaskFlow,
so the test controls it. While `hang()` runs, every request waits until the hang is over.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ANSWER = json.dumps(
    {"priority": "high", "rationale": "Chaos run.", "confidence": 0.8, "suggested_due_at": None}
)


class ModelServer:
    def __init__(self) -> None:
        self.calls = 0
        self.hung_calls = 0
        self._hang_until = 0.0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body: dict[str, Any] = json.loads(self.rfile.read(length) or b"{}")
                server._count(hung=time.time() < server._hang_until)
                while time.time() < server._hang_until:
                    time.sleep(0.1)
                reply = {
                    "id": "chatcmpl-chaos",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body.get("model", "chaos"),
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": ANSWER},
                            "finish_reason": "stop",
                        }
                    ],
                }
                data = json.dumps(reply).encode()
                try:
                    self.send_response(200)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the caller gave up waiting (its timeout), as it should

            def log_message(self, *_args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _count(self, *, hung: bool) -> None:
        with self._lock:
            self.calls += 1
            self.hung_calls += hung

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> ModelServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._hang_until = 0.0
        self._server.shutdown()
        self._server.server_close()

    def hang(self, seconds: float) -> None:
        """Every request in the next `seconds` waits until they are over."""
        self._hang_until = time.time() + seconds
        time.sleep(seconds)
