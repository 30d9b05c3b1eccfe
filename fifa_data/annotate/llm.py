"""The LLM writer: explanations from any OpenAI-compatible chat-completions endpoint.

:class:`LLMWriter` has the same ``write(item) -> Explanation`` interface as the template writer
(:class:`~fifa_data.annotate.writers.TemplateWriter`). It sends the fake image (and, with
``send_real``, the real one) together with the pair's measured facts and asks for a fixed format:
one summary sentence that names no facial region, then one sentence per requested region, in
order, in which the region's name is wrapped as ``<p>name</p>``. The reply is parsed into an
:class:`~fifa_data.annotate.explanation.Explanation` and, like every writer's output, must pass
:func:`~fifa_data.annotate.guard.guard` before it becomes a dataset row: the writer does not
judge the text itself beyond checking that it is usable at all.

Requests go through ``httpx2`` (the HTTP client of ``huggingface_hub``, which the push uses
too) from a thread pool. Transient failures
(timeouts, connection errors, HTTP 429 and 5xx, malformed replies) are retried with exponential
backoff; a successful, well-formed reply is cached on disk under a hash of the request, so a
rebuild re-asks nothing. The API key is read from the environment at call time and is never
stored on the writer, logged, cached or put into an error message.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import logging
import os
import re
import tempfile
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NoReturn

import httpx2

from fifa_data.annotate.evidence import Evidence
from fifa_data.annotate.explanation import Explanation, WriterInput
from fifa_data.core.families import FAMILY_PHRASES, family_of
from fifa_data.core.fict import FICT, ConceptFinder
from fifa_data.core.markup import SEG, TAG, canonical, strip

log = logging.getLogger(__name__)

SYSTEM_PROMPT = """\
You write short explanations for a dataset of manipulated face photos. You are shown an \
edited (fake) photo, sometimes also the untouched original, and a list of facial regions that \
were edited, each with facts measured by comparing the two photos.

Write plain English prose, no markdown, no lists, no headings:
1. First, one summary sentence saying that the photo was manipulated. It must not name any \
facial region.
2. Then exactly one sentence per listed region, in the order given. In that sentence the \
region's name appears once, wrapped in tags exactly like <p>the region name</p>.
Do not mention any facial region that is not listed, not even to say it is unchanged. State \
only the listed facts; do not guess causes, tools or intentions. Use <p> tags for nothing else."""

MAX_RETRY_AFTER = 60.0  # seconds: the most a server's Retry-After header may make us wait

_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+", re.MULTILINE)
# A sentence ends at . ! ? (plus closing quotes or brackets) before a space and a character that
# is not a lower-case letter ("e.g. the lips" stays whole), or at a line break.
_BOUNDARY = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[^a-z])|\n\s*")


class LLMError(RuntimeError):
    """A request that failed for good: a non-retryable HTTP error, or all retries spent.

    ``status`` is the last HTTP status (None for timeouts, connection errors and malformed
    replies); ``attempts`` is how many requests were made. The message never holds the API key.
    """

    def __init__(self, message: str, *, status: int | None = None, attempts: int = 0):
        super().__init__(message)
        self.status = status
        self.attempts = attempts


class _Retryable(Exception):
    """One failed attempt that may succeed when repeated (internal)."""

    def __init__(self, message: str, status: int | None = None, wait: float = 0.0):
        super().__init__(message)
        self.status = status
        self.wait = wait  # seconds the server asked us to wait (Retry-After), 0 if it did not


class LLMWriter:
    """Explanations from an OpenAI-compatible ``/chat/completions`` endpoint (see the module docstring).

    ``write`` returns an :class:`Explanation` or raises :class:`LLMError`; ``write_many`` runs
    ``concurrency`` requests at once and returns, in input order, an :class:`Explanation` or the
    :class:`LLMError` instance for each item, so one failing item does not fail the others.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key_env: str = "OPENAI_API_KEY",
        timeout: float = 60.0,
        retries: int = 3,
        backoff: float = 1.0,
        concurrency: int = 4,
        cache_dir: str | Path | None = None,
        send_real: bool = False,
        temperature: float = 0.2,
        max_tokens: int = 600,
    ):
        if retries < 0 or concurrency < 1 or timeout <= 0:
            raise ValueError("need retries >= 0, concurrency >= 1 and timeout > 0")
        self.base_url = base_url
        self.model = model
        self.api_key_env = api_key_env
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.concurrency = concurrency
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.send_real = send_real
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.name = f"llm:{model}"
        self.url = base_url.rstrip("/") + "/chat/completions"
        self._client = httpx2.Client(timeout=timeout)  # honours the *_proxy environment variables; thread-safe

    def __repr__(self) -> str:
        return f"LLMWriter(base_url={_redact_url(self.base_url)!r}, model={self.model!r}, api_key_env={self.api_key_env!r})"

    # -- public interface --------------------------------------------------------------------

    def write(self, item: WriterInput) -> Explanation:
        """The explanation of one item; raises :class:`LLMError` when the endpoint keeps failing."""
        payload = self.payload(item)
        content = self._complete(payload, expect_tags=bool(item.requested))
        return parse_reply(content, item, self.name)

    def write_many(self, items: list[WriterInput]) -> list[Explanation | LLMError]:
        """``write`` over ``items`` with ``concurrency`` workers; an :class:`LLMError` stands in a failed slot."""
        if not items:
            return []
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(items))) as pool:
            return list(pool.map(self._write_or_error, items))

    def payload(self, item: WriterInput) -> dict:
        """The JSON body of the request for ``item`` (also what the cache key is computed from)."""
        return {
            "model": self.model,
            "messages": build_messages(item, send_real=self.send_real),
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
        }

    # -- requests, retries and cache ---------------------------------------------------------

    def _write_or_error(self, item: WriterInput) -> Explanation | LLMError:
        try:
            return self.write(item)
        except LLMError as err:
            return err

    def _complete(self, payload: dict, expect_tags: bool) -> str:
        """The reply content for ``payload``: from the cache, or from the endpoint with retries."""
        key = cache_key(payload)
        cached = self._cache_get(key)
        if cached is not None:
            return cached
        attempts = self.retries + 1
        for attempt in range(attempts):
            try:
                content = self._post_once(payload)
                _check_content(content, expect_tags)
            except _Retryable as err:
                reason = self._redact(str(err))  # a malformed body may echo anything
                if attempt + 1 == attempts:
                    raise LLMError(f"{self.name}: {reason} (gave up after {attempts} attempts)", status=err.status, attempts=attempts) from None
                wait = max(self.backoff * 2**attempt, min(err.wait, MAX_RETRY_AFTER))
                log.warning("%s: attempt %d/%d failed: %s; retrying in %.1f s", self.name, attempt + 1, attempts, reason, wait)
                time.sleep(wait)
            except LLMError as err:
                err.attempts = attempt + 1
                raise
            else:
                self._cache_put(key, content)
                return content
        raise AssertionError("unreachable")

    def _post_once(self, payload: dict) -> str:
        """One POST; the reply content, or :class:`_Retryable` / :class:`LLMError`."""
        try:
            response = self._client.post(self.url, content=json.dumps(payload).encode(), headers=self._headers())
        except httpx2.TimeoutException:
            raise _Retryable(f"timed out after {self.timeout} s") from None
        except httpx2.TransportError as err:
            raise _Retryable(f"connection failed: {self._redact(str(err))}") from None
        if response.is_error:
            self._raise_http(response)
        return _extract_content(response.content)

    def _raise_http(self, response: httpx2.Response) -> NoReturn:
        """Turn an HTTP error into :class:`_Retryable` (429, 5xx) or :class:`LLMError` (other 4xx)."""
        code = response.status_code
        detail = response.content[:500].decode("utf-8", "replace")
        message = f"HTTP {code} from {_redact_url(self.url)}: {self._redact(detail).strip()[:300]}".rstrip(": ")
        if code == 429 or code >= 500:
            raise _Retryable(message, status=code, wait=_retry_after(response.headers)) from None
        raise LLMError(f"{self.name}: {message}", status=code, attempts=1) from None

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json", "User-Agent": "fifa-data-llm-writer"}
        key = os.environ.get(self.api_key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def _redact(self, text: str) -> str:
        """``text`` with the API key (should a server echo it) blanked out."""
        key = os.environ.get(self.api_key_env)
        return text.replace(key, "***") if key else text

    def _cache_path(self, key: str) -> Path | None:
        return None if self.cache_dir is None else self.cache_dir / key[:2] / f"{key}.json"

    def _cache_get(self, key: str) -> str | None:
        """The cached reply content, or None (no cache, a miss, or an unreadable entry)."""
        path = self._cache_path(key)
        if path is None or not path.is_file():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))["content"]
        except (OSError, ValueError, KeyError, TypeError):
            log.warning("%s: ignoring unreadable cache entry %s", self.name, path)
            return None

    def _cache_put(self, key: str, content: str) -> None:
        """Store ``content`` atomically (temp file + rename), so a crash never leaves half an entry."""
        path = self._cache_path(key)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"model": self.model, "content": content}, f, ensure_ascii=False)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


# -- the request ---------------------------------------------------------------------------------


def build_messages(item: WriterInput, send_real: bool = False) -> list[dict]:
    """System prompt + one user message: the facts text, the fake image and optionally the real one."""
    content: list[dict] = [{"type": "text", "text": facts_text(item, with_real=send_real and bool(item.real_bytes))}]
    if item.fake_bytes:
        content.append(image_part(item.fake_bytes))
    if send_real and item.real_bytes:
        content.append(image_part(item.real_bytes))
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": content}]


def facts_text(item: WriterInput, with_real: bool = False) -> str:
    """The user's text: the regions to cover in order, each with its facts, then the format rules."""
    images = "The first image is the edited photo; the second is the untouched original." if with_real else "The image is the edited photo."
    if not item.requested:
        return f"{images}\nNo facial region is to be described: write only the summary sentence, naming no facial region."
    lines = [images]
    family = item.family or family_of(item.manipulation)
    if item.guessed and family != "unknown":
        lines.append(f"The forgery looks like {FAMILY_PHRASES[family]} (the annotator's guess; the source does not say): "
                     "the summary sentence says so, hedged, in plain words.")
    elif family != "unknown":
        lines.append(f"The forgery is {FAMILY_PHRASES[family]} ({item.manipulation}): the summary sentence says so, in plain words.")
    if item.family_facts:
        stated = "; ".join(f"{f.direction} ({f.strength})" for f in item.family_facts)
        lines.append(f"Traces of the forgery on the changed area as a whole (state them after the summary, naming no facial region): {stated}.")
    lines.append("Edited regions, in the order to describe them:")
    for i, concept_id in enumerate(item.requested, 1):
        lines.append(f"{i}. {_region_line(item.fict, concept_id, item.evidence.get(concept_id))}")
    lines.append(
        "Write one summary sentence that names no facial region; then one sentence per listed region, "
        "in the given order, in which the region's name appears wrapped as <p>name</p>; "
        "do not mention any other facial region; state only the listed facts."
    )
    return "\n".join(lines)


def _region_line(fict: FICT, concept_id: str, evidence: Evidence | None) -> str:
    """``left eyebrow: facts: colour redder (clear); ... measured: 62% of the region edited, ...``."""
    name = fict[concept_id].name
    if evidence is None:
        return f"{name}: no measured facts; say only that it was edited."
    facts = evidence.facts()
    stated = "; ".join(f"{f.kind} {f.direction} ({f.strength})" for f in facts) or "only a subtle pixel-level change"
    numbers = [f"{evidence.share:.0%} of the region edited", f"mean colour difference ΔE {evidence.delta_e:.1f}"]
    if any(f.kind == "colour" for f in facts):
        numbers.append(f"colour {evidence.colour_before} before, {evidence.colour_after} after")
    return f"{name}: facts: {stated}. Measured: {', '.join(numbers)}."


def image_part(data: bytes) -> dict:
    """An ``image_url`` content part holding ``data`` as a base64 data URL."""
    encoded = base64.b64encode(data).decode("ascii")
    return {"type": "image_url", "image_url": {"url": f"data:image/{image_format(data)};base64,{encoded}"}}


def image_format(data: bytes) -> str:
    """``png``, ``jpeg`` or ``webp`` from the file's magic bytes; ValueError for anything else."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    raise ValueError(f"image bytes are not PNG, JPEG or WebP (they start {data[:12]!r})")


def cache_key(payload: dict) -> str:
    """sha256 over model, messages (images included), temperature and max_tokens; no URL, no key."""
    fields = {k: payload[k] for k in ("model", "messages", "temperature", "max_tokens")}
    return hashlib.sha256(json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


# -- the reply -----------------------------------------------------------------------------------


def _extract_content(body: bytes) -> str:
    """``choices[0].message.content`` of a chat-completion body; :class:`_Retryable` if malformed."""
    try:
        content = json.loads(body)["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise _Retryable(f"malformed reply: {body[:120]!r}") from None
    if isinstance(content, list):  # some servers answer with content parts
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    if not isinstance(content, str) or not content.strip():
        raise _Retryable("malformed reply: empty content")
    return content


def _check_content(content: str, expect_tags: bool) -> None:
    """A reply without a single ``<p>`` tag where regions were requested is useless: retry it."""
    if expect_tags and not TAG.search(_normalise(content)):
        raise _Retryable(f"malformed reply: no <p> tags in {content[:120]!r}")


def parse_reply(content: str, item: WriterInput, writer: str) -> Explanation:
    """The :class:`Explanation` in a reply.

    Untagged sentences before the first tagged one form the summary ("" if none: the guard fills
    it in); every later sentence is kept as a sentence, tagged or not, so the guard checks it too.
    Each tag's concept is the one its phrase names, or ``""`` when it names none or several (the
    guard counts that as a hallucination).
    """
    finder = _finder(item.fict)
    summary: list[str] = []
    sentences: list[str] = []
    concepts: list[str] = []
    for sentence in split_sentences(_normalise(content)):
        phrases = TAG.findall(sentence)
        if not phrases and not sentences:
            summary.append(sentence)
            continue
        sentences.append(sentence)
        concepts.extend(finder.resolve(strip(p)) or "" for p in phrases)
    return Explanation(" ".join(summary), tuple(sentences), tuple(concepts), writer)


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text``, never split inside a ``<p>...</p>`` tag; stray tags removed."""
    tags = [m.span() for m in TAG.finditer(text)]
    pieces, start = [], 0
    for m in _BOUNDARY.finditer(text):
        if any(a < m.start() < b for a, b in tags):
            continue
        pieces.append(text[start : m.start() + len(m.group(0).rstrip())])
        start = m.end()
    pieces.append(text[start:])
    return [s for s in (_drop_stray_tags(p).strip() for p in pieces) if s]


def _normalise(content: str) -> str:
    """Reasoning blocks, markdown emphasis, list bullets and ``[SEG]`` tokens (the rows add their
    own) removed; ``<P >`` spelled ``<p>``."""
    text = _THINK.sub("", content)
    text = canonical(text).replace(SEG, "")
    text = _BULLET.sub("", text).replace("**", "").replace("__", "")
    return text.strip()


def _drop_stray_tags(sentence: str) -> str:
    """Remove ``<p>``/``</p>`` left unpaired (e.g. a tag split by a sentence break)."""
    parts = TAG.split(sentence)  # even indices: outside tags, odd: tag phrases
    for i in range(0, len(parts), 2):
        parts[i] = parts[i].replace("<p>", "").replace("</p>", "")
    return "".join(f"<p>{p}</p>" if i % 2 else p for i, p in enumerate(parts))


@functools.lru_cache(maxsize=8)
def _finder(fict: FICT) -> ConceptFinder:
    return ConceptFinder(fict)


def _retry_after(headers) -> float:
    """Seconds from a numeric ``Retry-After`` header, 0 when absent or a date."""
    try:
        return max(float(headers.get("Retry-After", 0)), 0.0)
    except (TypeError, ValueError):
        return 0.0


def _redact_url(url: str) -> str:
    """``url`` without user:password and query (where some gateways put keys)."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))
