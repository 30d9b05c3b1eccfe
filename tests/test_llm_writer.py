"""The LLM writer against a real local HTTP server (127.0.0.1 only) that plays a chat-completions API."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from fifa_data.annotate.evidence import Evidence
from fifa_data.annotate.explanation import WriterInput
from fifa_data.annotate.guard import GuardCounts, guard
from fifa_data.annotate.llm import LLMError, LLMWriter, image_format, parse_reply
from fifa_data.annotate.writers import TemplateWriter
from fifa_data.core.fict import load_fict
from fifa_data.core.images import encode_image
from fifa_data.pairs.photos import astronaut

KEY_ENV = "FIFA_TEST_LLM_KEY"
SECRET = "sk-test-DO-NOT-LEAK-1234567890"
GOOD = "This photo was edited. <p>The lips</p> look redder."


# -- a scripted chat-completions server -----------------------------------------------------------


@dataclass
class Reply:
    """What the server sends for one request: status, body (dict → JSON) and a delay before it."""

    status: int = 200
    body: dict | str | bytes = ""
    delay: float = 0.0


def completion(content: str) -> dict:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
    }


class FakeAPI:
    """Replies from ``script`` in order, then from ``responder`` (or the GOOD completion); records requests."""

    def __init__(self) -> None:
        self.script: list[Reply] = []
        self.responder: Callable[[dict], Reply] | None = None
        self.requests: list[dict] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()
        self.url = ""

    @property
    def count(self) -> int:
        return len(self.requests)

    def reply_for(self, payload: dict) -> Reply:
        with self.lock:
            if self.script:
                return self.script.pop(0)
        return self.responder(payload) if self.responder else Reply(body=completion(GOOD))


def _handler(api: FakeAPI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                payload = json.loads(raw)
            except ValueError:
                payload = None
            with api.lock:
                api.requests.append({"path": self.path, "headers": dict(self.headers), "json": payload})
                api.in_flight += 1
                api.max_in_flight = max(api.max_in_flight, api.in_flight)
            try:
                reply = api.reply_for(payload)
                time.sleep(reply.delay)
                body = reply.body if isinstance(reply.body, bytes) else (reply.body if isinstance(reply.body, str) else json.dumps(reply.body)).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client timed out and hung up
            finally:
                with api.lock:
                    api.in_flight -= 1

        def log_message(self, *args) -> None:  # keep pytest output clean
            pass

    return Handler


@pytest.fixture
def api(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.delenv(KEY_ENV, raising=False)
    fake = FakeAPI()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/v1/"
    yield fake
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


# -- inputs --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fake_png() -> bytes:
    return encode_image(astronaut())


def lips_evidence() -> Evidence:
    return Evidence(
        concept_id="lips", pixels=1800, share=0.62, centroid=(300.0, 250.0), delta_e=7.4,
        delta_lightness=-1.0, delta_a=6.5, delta_b=1.0, delta_chroma=4.0, colour_before="rosy",
        colour_after="red", brightness=-0.01, texture=0.1, seam=None, landmarks=20,
        displacement=0.002, rise=0.0, inward=0.0, scale=0.0,
    )  # fmt: skip


def make_item(fake_png: bytes, requested=("lips",), key="pair-1", **kw) -> WriterInput:
    evidence = {"lips": lips_evidence()} if "lips" in requested else {}
    return WriterInput(key=key, fict=load_fict(), requested=tuple(requested), evidence=evidence, fake_bytes=fake_png, **kw)


def writer(api: FakeAPI, **kw) -> LLMWriter:
    options = {"api_key_env": KEY_ENV, "timeout": 5.0, "retries": 2, "backoff": 0.0} | kw
    return LLMWriter(api.url, "test-vlm", **options)


def user_text(payload: dict) -> str:
    return " ".join(p["text"] for p in payload["messages"][1]["content"] if p["type"] == "text")


def image_urls(payload: dict) -> list[str]:
    return [p["image_url"]["url"] for p in payload["messages"][1]["content"] if p["type"] == "image_url"]


# -- tests ---------------------------------------------------------------------------------------


def test_happy_path_request_and_explanation(api, fake_png, monkeypatch):
    monkeypatch.setenv(KEY_ENV, SECRET)
    item = make_item(fake_png)
    expl = writer(api).write(item)

    assert expl.concepts == ("lips",)
    assert expl.summary == "This photo was edited."
    assert "<p>The lips</p> [SEG]" in expl.grounded()
    assert expl.writer == "llm:test-vlm"

    (request,) = api.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == f"Bearer {SECRET}"
    payload = request["json"]
    assert payload["model"] == "test-vlm" and payload["temperature"] == 0.2 and payload["max_tokens"] == 600
    assert payload["messages"][0]["role"] == "system"
    (url,) = image_urls(payload)
    assert url.startswith("data:image/png;base64,")
    assert base64.b64decode(url.split(",", 1)[1]) == fake_png
    text = user_text(payload)
    assert "lips" in text and "redder (clear)" in text and "<p>name</p>" in text

    monkeypatch.delenv(KEY_ENV)
    writer(api).write(item)
    assert "Authorization" not in api.requests[-1]["headers"]


def test_real_image_sent_only_with_send_real(api, fake_png):
    real_jpeg = encode_image(astronaut()[::4, ::4], "JPEG")
    item = make_item(fake_png, real_bytes=real_jpeg)
    writer(api).write(item)
    writer(api, send_real=True).write(item)
    assert len(image_urls(api.requests[0]["json"])) == 1
    fake_url, real_url = image_urls(api.requests[1]["json"])
    assert fake_url.startswith("data:image/png;") and real_url.startswith("data:image/jpeg;")
    assert image_format(encode_image(astronaut()[::8, ::8], "WEBP")) == "webp"
    with pytest.raises(ValueError):
        image_format(b"GIF89a....")


def test_timeout_is_retried(api, fake_png):
    api.script = [Reply(body=completion(GOOD), delay=1.0)]
    expl = writer(api, timeout=0.5).write(make_item(fake_png))
    assert expl.concepts == ("lips",) and api.count == 2


def test_timeouts_exhaust_retries(api, fake_png):
    api.responder = lambda payload: Reply(body=completion(GOOD), delay=1.0)
    with pytest.raises(LLMError, match="timed out") as info:
        writer(api, timeout=0.5, retries=1).write(make_item(fake_png))
    assert api.count == 2 and info.value.attempts == 2


def test_a_closed_port_is_a_connection_failure_retried_then_reported(fake_png):
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens on it
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    closed = LLMWriter(f"http://127.0.0.1:{port}/v1", "test-model", retries=1, backoff=0.01, timeout=5)
    with pytest.raises(LLMError, match="connection failed") as info:
        closed.write(make_item(fake_png))
    assert info.value.attempts == 2


def test_malformed_replies_are_retried_then_succeed(api, fake_png, tmp_path):
    api.script = [Reply(body="this is not JSON"), Reply(body={"id": "x", "object": "chat.completion"}), Reply(body=completion("Edited, but no tags."))]
    expl = writer(api, retries=3, cache_dir=tmp_path).write(make_item(fake_png))
    assert expl.concepts == ("lips",) and api.count == 4


def test_malformed_replies_exhaust_retries_and_are_not_cached(api, fake_png, tmp_path):
    api.responder = lambda payload: Reply(body={"choices": []})
    with pytest.raises(LLMError, match="malformed"):
        writer(api, retries=2, cache_dir=tmp_path).write(make_item(fake_png))
    assert api.count == 3
    assert not list(tmp_path.rglob("*.json"))


def test_server_error_retried_client_error_not(api, fake_png):
    api.script = [Reply(503, {"error": "overloaded"}), Reply(429, {"error": "slow down"})]
    assert writer(api).write(make_item(fake_png)).concepts == ("lips",)
    assert api.count == 3
    api.script = [Reply(400, {"error": "bad request"})]
    with pytest.raises(LLMError, match="HTTP 400") as info:
        writer(api).write(make_item(fake_png))
    assert api.count == 4 and info.value.status == 400 and info.value.attempts == 1


def test_hallucinated_region_is_repaired_by_the_guard(api, fake_png):
    api.script = [Reply(body=completion("This photo was edited. <p>The lips</p> look redder. <p>The nose</p> is smaller."))]
    item = make_item(fake_png)
    expl = writer(api).write(item)
    assert expl.concepts == ("lips", "nose")

    result = guard(expl, item, manipulated=frozenset({"lips"}), fallback=TemplateWriter())
    assert result.action == "repaired"
    assert "nose" in result.hallucinated
    assert result.explanation.concepts == ("lips",)
    counts = GuardCounts()
    counts.add(result)
    assert counts.inconsistent == 1 and counts.repaired == 1


def test_cache_hit_makes_no_request(api, fake_png, tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, SECRET)
    item = make_item(fake_png)
    first = writer(api, cache_dir=tmp_path).write(item)
    assert api.count == 1
    second = writer(api, cache_dir=tmp_path).write(item)
    assert api.count == 1 and second == first

    (entry,) = tmp_path.rglob("*.json")
    assert entry.parent.name == entry.stem[:2] and len(entry.stem) == 64
    assert SECRET not in entry.read_text() and "lips" in entry.read_text()

    writer(api, cache_dir=tmp_path).write(make_item(fake_png, requested=("lips", "eyebrow.left")))
    assert api.count == 2


def test_write_many_keeps_order_and_isolates_failures(api, fake_png):
    concepts = ["lips", "nose", "eyebrow.left", "eyebrow.right", "forehead", "cheek.left"]
    fict = load_fict()
    names = {fict[c].name: c for c in concepts}

    def respond(payload: dict) -> Reply:
        (name,) = [n for n in names if n in user_text(payload)]
        if name == "nose":
            return Reply(400, {"error": "content policy"})
        delay = 0.05 * (len(concepts) - concepts.index(names[name]))  # the first items finish last
        return Reply(body=completion(f"The image is fake. <p>The {name}</p> was changed."), delay=delay)

    api.responder = respond
    items = [make_item(fake_png, requested=(c,), key=f"pair-{i}") for i, c in enumerate(concepts)]
    results = writer(api, concurrency=3).write_many(items)

    assert len(results) == len(items)
    for concept, result in zip(concepts, results):
        if concept == "nose":
            assert isinstance(result, LLMError) and result.status == 400
        else:
            assert result.concepts == (concept,)
    assert 2 <= api.max_in_flight <= 3
    assert writer(api).write_many([]) == []


def test_unauthorised_fails_at_once_without_leaking_the_key(api, fake_png, monkeypatch):
    monkeypatch.setenv(KEY_ENV, SECRET)
    api.responder = lambda payload: Reply(401, {"error": {"message": f"Incorrect API key provided: {SECRET}"}})
    llm = writer(api, retries=3)
    with pytest.raises(LLMError) as info:
        llm.write(make_item(fake_png))
    assert api.count == 1
    assert "401" in str(info.value) and info.value.status == 401
    assert SECRET not in str(info.value) and SECRET not in repr(info.value)
    assert SECRET not in repr(llm) and KEY_ENV in repr(llm)


def test_parse_reply_sentences_summary_and_unresolvable_tags(fake_png):
    item = make_item(fake_png, requested=("lips", "eyebrow.left"))
    content = (
        "<think>the user wants...</think>\n"
        "**The photo was edited, e.g. retouched.** <P>The lips</P> look redder. Overall it is subtle.\n"
        "- <p>The left brow</p> was raised. <p>The thing</p> changed. <p>The lips and nose</p> moved."
    )
    expl = parse_reply(content, item, "llm:x")
    assert expl.summary == "The photo was edited, e.g. retouched."
    assert expl.sentences == (
        "<p>The lips</p> look redder.",
        "Overall it is subtle.",
        "<p>The left brow</p> was raised.",
        "<p>The thing</p> changed.",
        "<p>The lips and nose</p> moved.",
    )
    assert expl.concepts == ("lips", "eyebrow.left", "", "")

    starts_tagged = parse_reply("<p>The lips</p> look redder. <p>Stray tag here.", item, "llm:x")
    assert starts_tagged.summary == "" and starts_tagged.concepts == ("lips",)
    assert starts_tagged.sentences[-1] == "Stray tag here."


# -- the annotate CLI with --writer llm ----------------------------------------------------------


def grounds_the_first_concept_and_an_earlobe(payload: dict) -> Reply:
    """A model that names the first requested concept and hallucinates the left earlobe."""
    import re

    facts = next(p["text"] for p in payload["messages"][-1]["content"] if p["type"] == "text")
    first = re.search(r"^1\. ([^:]+):", facts, re.M).group(1)
    return Reply(body=completion(f"This photo was edited. <p>The {first}</p> looks changed. <p>The left earlobe</p> looks odd."))


def test_annotate_cli_with_llm_writer_counts_hallucinations_and_caches(api, tmp_path):
    """The whole path: pairs → LLM writer (local server) → guard → rows; a rerun is served from the cache."""
    import runpy
    from pathlib import Path

    from fifa_data.pairs.sample_source import write_sample_pairs

    api.responder = grounds_the_first_concept_and_an_earlobe
    pairs = tmp_path / "pairs"
    write_sample_pairs(pairs, 2, seed=0, photos=("grace_hopper",), views=("face",), manipulations=("lip_color", "eyebrow"))
    main = runpy.run_path(str(Path(__file__).resolve().parents[1] / "scripts" / "annotate.py"))["main"]
    args = [str(pairs), "--out", str(tmp_path / "out"), "--render", "0", "--writer", "llm", "--llm-base-url", api.url,
            "--llm-model", "test-model", "--llm-cache", str(tmp_path / "cache"), "--tasks", "age", "toe"]  # fmt: skip
    assert main(args) == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    texts = summary["guard"]["texts"]
    assert texts == summary["accepted"] >= 1 and api.count == texts
    assert summary["writer"] == "llm:test-model"
    assert summary["guard"]["inconsistent"] == texts  # the earlobe, every time
    assert summary["guard"]["clean"] == 0
    rows = [json.loads(line) for line in (tmp_path / "out" / "rows.jsonl").read_text().splitlines()]
    assert all("earlobe" not in r["messages"][1]["content"][0]["text"] for r in rows)
    assert main(args) == 0 and api.count == texts  # rerun: every reply from the cache


@pytest.mark.slow
def test_build_with_llm_writer_in_two_processes_shares_the_cache(api, tmp_path):
    """scripts/build.py --writer llm --num-proc 2: workers make their own writer, the guard still runs, the cache is shared."""
    import runpy
    from pathlib import Path

    import pyarrow.parquet as pq

    from fifa_data.pairs.sample_source import write_sample_pairs

    api.responder = grounds_the_first_concept_and_an_earlobe
    pairs = tmp_path / "pairs"
    write_sample_pairs(pairs, 4, seed=0, photos=("grace_hopper", "astronaut"), views=("face",), manipulations=("lip_color", "eyebrow"))
    main = runpy.run_path(str(Path(__file__).resolve().parents[1] / "scripts" / "build.py"))["main"]
    args = ["--pairs", str(pairs), "--out", str(tmp_path / "fifa"), "--configs", "pairs", "age", "--num-proc", "2", "--no-progress",
            "--writer", "llm", "--llm-base-url", api.url, "--llm-model", "test-model", "--llm-cache", str(tmp_path / "cache")]  # fmt: skip
    assert main(args) == 0
    stats = json.loads((tmp_path / "fifa" / "build.json").read_text())
    texts = stats["guard"]["texts"]
    assert texts == stats["accepted"] >= 2 and api.count == texts
    assert stats["guard"]["inconsistent"] == texts  # the earlobe, every time, caught in the workers
    assert stats["parameters"]["writer"] == {"kind": "llm", "seed": 0, "base_url": api.url, "model": "test-model", "send_real": False}
    pairs_rows = [r for f in sorted((tmp_path / "fifa" / "pairs").glob("*.parquet")) for r in pq.read_table(f).to_pylist()]
    assert {r["writer"] for r in pairs_rows} == {"llm:test-model"}
    assert all("earlobe" not in r["explanation"] for r in pairs_rows)
    first = stats["fingerprint"]
    assert main(args) == 0 and api.count == texts  # rerun: every reply from the cache on disk
    assert json.loads((tmp_path / "fifa" / "build.json").read_text())["fingerprint"] == first
