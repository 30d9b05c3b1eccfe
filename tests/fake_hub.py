"""A fake Hugging Face Hub on 127.0.0.1 for upload tests, and the fixtures that start it.

It speaks just enough of the Hub HTTP API for `HfApi.create_repo` and `HfApi.create_commit`: it
answers "regular" to every preupload request, so file contents arrive base64-encoded inside the
NDJSON commit and no LFS or Xet transfer happens. Committed files are written under ``root``.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from huggingface_hub import constants
from huggingface_hub.utils import close_session

TOKEN = "hf_fake_write_token"

_REPO_ROUTE = re.compile(r"^/api/(?P<kind>datasets|spaces)/(?P<repo>[^/]+/[^/]+)(?:/(?P<action>preupload|commit)/(?P<rev>[^/]+))?$")


@dataclass
class FakeHub:
    """What the fake Hub received; `files` holds the committed files of every repo by path."""

    url: str
    token: str
    root: Path
    read_only: bool = False  # the token may read but not write: repo creation and commits get HTTP 403
    requests: list[tuple[str, str]] = field(default_factory=list)
    created: list[dict[str, Any]] = field(default_factory=list)
    commits: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def repo_dir(self, repo_id: str) -> Path:
        return self.root / repo_id


def _make_handler(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
            pass

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while True:
                    size = int(self.rfile.readline().strip(), 16)
                    chunk = self.rfile.read(size)
                    self.rfile.readline()
                    if size == 0:
                        return b"".join(chunks)
                    chunks.append(chunk)
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _handle(self) -> None:
            path = self.path.split("?", 1)[0]
            body = self._body()
            with hub.lock:
                hub.requests.append((self.command, path))
            if path == "/api/agent-harnesses":  # huggingface_hub's user-agent helper; no auth
                self._send(200, {"standardEnvVars": [], "harnesses": {}})
                return
            if self.headers.get("Authorization") != f"Bearer {hub.token}":
                self._send(401, {"error": "Invalid credentials in Authorization header"})
                return

            if hub.read_only and self.command == "POST" and path != "/api/validate-yaml":
                self._send(403, {"error": "You don't have the rights to write to this repo"})
                return
            if self.command == "POST" and path == "/api/repos/create":
                payload = json.loads(body)
                repo_id = f"{payload.get('organization') or 'fifa-tester'}/{payload['name']}"
                url = f"{hub.url}/{'spaces' if payload.get('type') == 'space' else 'datasets'}/{repo_id}"
                with hub.lock:
                    exists = hub.repo_dir(repo_id).exists()
                    hub.created.append(payload)
                    hub.repo_dir(repo_id).mkdir(parents=True, exist_ok=True)
                if exists:
                    self._send(409, {"error": "You already created this dataset repo", "url": url})
                else:
                    self._send(200, {"url": url, "name": repo_id})
                return
            if self.command == "POST" and path == "/api/validate-yaml":
                self._send(200, {"errors": [], "warnings": []})
                return

            match = _REPO_ROUTE.match(path)
            if match is None or not hub.repo_dir(match["repo"]).is_dir():
                self._send(404, {"error": "Repository not found"})
                return
            repo_id, action = match["repo"], match["action"]
            if self.command == "GET" and action is None:
                self._send(200, {"id": repo_id, "private": False, "sha": "0" * 40, "siblings": []})
            elif self.command == "POST" and action == "preupload":
                files = json.loads(body)["files"]
                self._send(
                    200,
                    {
                        "files": [
                            {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False, "oid": None}
                            for f in files
                        ]
                    },
                )
            elif self.command == "POST" and action == "commit":
                self._commit(repo_id, match["rev"], body, match["kind"])
            else:
                self._send(404, {"error": f"Fake Hub does not implement {self.command} {path}"})

        def _commit(self, repo_id: str, revision: str, body: bytes, kind: str = "datasets") -> None:
            lines = [json.loads(line) for line in body.splitlines() if line.strip()]
            header = next(line["value"] for line in lines if line["key"] == "header")
            files: dict[str, bytes] = {}
            for line in lines:
                if line["key"] == "file":
                    assert line["value"]["encoding"] == "base64"
                    files[line["value"]["path"]] = base64.b64decode(line["value"]["content"])
                elif line["key"] != "header":  # lfsFile, deletedFile, ...: not expected here
                    self._send(400, {"error": f"Fake Hub does not support {line['key']!r} commit lines"})
                    return
            with hub.lock:
                for rel, data in files.items():
                    target = hub.repo_dir(repo_id) / rel
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(data)
                oid = f"{len(hub.commits) + 1:040x}"
                hub.commits.append(
                    {
                        "repo_id": repo_id,
                        "revision": revision,
                        "summary": header["summary"],
                        "description": header.get("description", ""),
                        "files": files,
                        "content_type": self.headers.get("Content-Type"),
                    }
                )
            self._send(
                200, {"success": True, "commitOid": oid, "commitUrl": f"{hub.url}/{kind}/{repo_id}/commit/{oid}"}
            )

        def do_GET(self) -> None:
            self._handle()

        def do_POST(self) -> None:
            self._handle()

        def do_PUT(self) -> None:
            self._handle()

        def do_HEAD(self) -> None:
            self._handle()

    return Handler


@pytest.fixture
def online(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lift the suite-wide offline mode for one test (huggingface_hub read HF_HUB_OFFLINE at import)."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    # Building the user agent may fetch an "agent harnesses" list from constants.ENDPOINT; keep it off.
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_TELEMETRY", True)


@pytest.fixture
def fake_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, online: None) -> Iterator[FakeHub]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    server.daemon_threads = True
    hub = FakeHub(url=f"http://127.0.0.1:{server.server_address[1]}", token=TOKEN, root=tmp_path / "hub")
    hub.root.mkdir()
    server.RequestHandlerClass = _make_handler(hub)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-hub", daemon=True)
    thread.start()
    # Anything that ignores the `endpoint` argument still only ever reaches the fake Hub.
    monkeypatch.setattr(constants, "ENDPOINT", hub.url)
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    try:
        yield hub
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        close_session()  # drop pooled connections to this server
