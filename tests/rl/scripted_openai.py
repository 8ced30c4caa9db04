"""A scripted OpenAI-compatible chat server on 127.0.0.1, for offline agent-loop tests.

    python scripted_openai.py --fix-file PATH [--port-file FILE] [--log FILE] [--lifetime SECONDS]

Serves GET /v1/models and POST /v1/chat/completions (plain JSON or SSE when "stream" is
true). What it answers depends on the request's model:

- `scripted-fix`: its first turn is one `bash` tool call that writes the contents of
  --fix-file over dropout.py and runs the visible test; once a tool result is in the
  conversation it answers with a one-line summary and no tool call, which ends the loop;
- `scripted-nop`: a text answer and no tool call (the workspace stays as it was).

Standard library only. It listens on 127.0.0.1 on a free port (written to --port-file),
logs one JSON line per request to --log, and stops by itself after --lifetime seconds.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

MODELS = ("scripted-fix", "scripted-nop")
CONTEXT_WINDOW = 128_000


def reply_for(body: dict, fix_source: str) -> dict:
    """The assistant message (OpenAI shape) for a chat request."""
    model = body.get("model")
    messages = body.get("messages") or []
    if model == "scripted-fix" and not any(m.get("role") == "tool" for m in messages):
        command = f"cat > dropout.py <<'VSD_EOF'\n{fix_source}VSD_EOF\npython3 test_dropout.py"
        return {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_fix_1",
                    "type": "function",
                    "function": {"name": "bash", "arguments": json.dumps({"command": command})},
                }
            ],
        }
    if model == "scripted-fix":
        return {"role": "assistant", "content": "Fixed: kept units are now scaled by 1/sqrt(1-p)."}
    if model == "scripted-nop":
        return {"role": "assistant", "content": "I leave dropout.py as it is."}
    raise ValueError(f"unknown model {model!r}; this server knows {', '.join(MODELS)}")


def _usage() -> dict:
    return {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}


class Handler(BaseHTTPRequestHandler):
    server_version = "scripted-openai/1"
    fix_source = ""
    log_path: Path | None = None
    counter = 0
    lock = threading.Lock()

    def log_message(self, *args) -> None:  # quiet
        return

    def _json(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _record(self, entry: dict) -> None:
        if self.log_path is not None:
            with self.lock, self.log_path.open("a") as f:
                f.write(json.dumps(entry) + "\n")

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/models"):
            cards = [{"id": m, "object": "model", "created": 0, "owned_by": "scripted", "context_length": CONTEXT_WINDOW} for m in MODELS]
            self._json(200, {"object": "list", "data": cards})
            return
        self._json(404, {"error": {"message": f"no route {self.path}"}})

    def do_POST(self) -> None:
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._json(404, {"error": {"message": f"no route {self.path}"}})
            return
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        try:
            message = reply_for(body, self.fix_source)
        except ValueError as ex:
            self._json(400, {"error": {"message": str(ex), "type": "invalid_request_error"}})
            return
        with self.lock:
            Handler.counter += 1
            n = Handler.counter
        finish = "tool_calls" if message.get("tool_calls") else "stop"
        self._record({"n": n, "model": body.get("model"), "stream": bool(body.get("stream")), "finish": finish,
                      "messages": len(body.get("messages") or [])})
        base = {"id": f"chatcmpl-{n}", "created": int(time.time()), "model": body.get("model")}
        if not body.get("stream"):
            self._json(200, {**base, "object": "chat.completion", "usage": _usage(),
                             "choices": [{"index": 0, "message": message, "finish_reason": finish}]})
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        chunk = {**base, "object": "chat.completion.chunk"}
        delta: dict = {"role": "assistant"}
        if message.get("content") is not None:
            delta["content"] = message["content"]
        if message.get("tool_calls"):
            delta["tool_calls"] = [{"index": i, **call} for i, call in enumerate(message["tool_calls"])]
        events = [
            {**chunk, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]},
            {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]},
            {**chunk, "choices": [], "usage": _usage()},
        ]
        for event in events:
            self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--fix-file", required=True, type=Path)
    p.add_argument("--port-file", type=Path)
    p.add_argument("--log", type=Path)
    p.add_argument("--lifetime", type=float, default=900.0)
    args = p.parse_args()
    Handler.fix_source = args.fix_file.read_text()
    Handler.log_path = args.log
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port = server.server_address[1]
    if args.port_file:
        tmp = args.port_file.with_suffix(".tmp")
        tmp.write_text(str(port))
        tmp.replace(args.port_file)
    print(f"listening on 127.0.0.1:{port}", flush=True)
    threading.Timer(args.lifetime, server.shutdown).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
