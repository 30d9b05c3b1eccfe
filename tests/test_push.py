"""Pushing a built dataset folder: the real huggingface_hub client against a fake Hub on 127.0.0.1.

The fake Hub is in ``fake_hub.py``.
"""

from __future__ import annotations

import io
import re
import socket
from pathlib import Path

import datasets
import numpy as np
import pytest
from fake_hub import TOKEN, FakeHub, fake_hub, online  # noqa: F401 (fixtures)
from huggingface_hub import constants
from PIL import Image

from builders.push import PushError, push_folder

REPO_ID = "fifa-tester/fifa-mini"
COMMIT_MESSAGE = "Upload FiFa age config"


def _png(seed: int) -> tuple[bytes, np.ndarray]:
    pixels = np.random.default_rng(seed).integers(0, 256, size=(8, 6, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue(), pixels


_README = """\
---
configs:
- config_name: age
  data_files:
  - split: train
    path: age/train-*.parquet
---

# FiFa (test build)

Two tiny faces, pushed by the test suite.
"""


@pytest.fixture
def built(tmp_path: Path) -> Path:
    """A tiny real build: `fifa/README.md` and one parquet shard of the `age` config with PNG images."""
    folder = tmp_path / "build" / "fifa"
    (folder / "age").mkdir(parents=True)
    images = [_png(seed)[0] for seed in (1, 2)]
    features = datasets.Features(
        {"image": datasets.Image(), "id": datasets.Value("string"), "age": datasets.Value("int32")}
    )
    table = datasets.Dataset.from_dict(
        {"image": [{"bytes": png, "path": None} for png in images], "id": ["a", "b"], "age": [31, 62]},
        features=features,
    )
    table.to_parquet(str(folder / "age" / "train-00000-of-00001.parquet"))
    (folder / "README.md").write_text(_README, encoding="utf-8")
    return folder


def _local_files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_push_uploads_every_file_in_one_commit_and_loads_back(
    fake_hub: FakeHub, built: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_TOKEN", TOKEN)  # token=None: resolved from the environment like huggingface_hub does

    url = push_folder(built, REPO_ID, private=True, commit_message=COMMIT_MESSAGE, endpoint=fake_hub.url)

    assert fake_hub.created == [
        {"name": "fifa-mini", "organization": "fifa-tester", "visibility": "private", "type": "dataset"}
    ]
    assert len(fake_hub.commits) == 1
    commit = fake_hub.commits[0]
    assert url == f"{fake_hub.url}/datasets/{REPO_ID}/commit/{1:040x}"
    assert (commit["repo_id"], commit["revision"], commit["summary"]) == (REPO_ID, "main", COMMIT_MESSAGE)
    assert commit["content_type"] == "application/x-ndjson"
    local = _local_files(built)
    assert set(local) == {"README.md", "age/train-00000-of-00001.parquet"}
    assert commit["files"] == local
    # Only the plain endpoints: no LFS batch, no Xet token, no whoami.
    calls = {(method, re.sub(r"/(preupload|commit)/main$", r"/\1", path)) for method, path in fake_hub.requests}
    assert calls == {
        ("POST", "/api/repos/create"),
        ("POST", "/api/validate-yaml"),
        ("POST", f"/api/datasets/{REPO_ID}/preupload"),
        ("POST", f"/api/datasets/{REPO_ID}/commit"),
    }

    received = fake_hub.repo_dir(REPO_ID)
    assert _local_files(received) == local
    loaded = datasets.load_dataset(str(received), "age", split="train")
    assert loaded.num_rows == 2
    assert loaded["id"] == ["a", "b"] and loaded["age"] == [31, 62]
    image = loaded[1]["image"]
    assert isinstance(image, Image.Image)
    assert np.array_equal(np.asarray(image.convert("RGB")), _png(2)[1])


def test_push_to_existing_repo_is_a_second_commit(fake_hub: FakeHub, built: Path) -> None:
    push_folder(built, REPO_ID, token=TOKEN, commit_message="first", endpoint=fake_hub.url)
    (built / "README.md").write_text(_README + "\nUpdated.\n", encoding="utf-8")
    push_folder(built, REPO_ID, token=TOKEN, commit_message="second", endpoint=fake_hub.url)

    assert [c["summary"] for c in fake_hub.commits] == ["first", "second"]
    assert [c["visibility"] for c in fake_hub.created] == ["public", "public"]
    assert (fake_hub.repo_dir(REPO_ID) / "README.md").read_bytes() == (built / "README.md").read_bytes()


def test_rejected_token_is_an_authentication_error(fake_hub: FakeHub, built: Path) -> None:
    with pytest.raises(PushError, match="authentication") as raised:
        push_folder(built, REPO_ID, token="hf_wrong", commit_message=COMMIT_MESSAGE, endpoint=fake_hub.url)

    message = str(raised.value)
    assert REPO_ID in message and str(built) in message and "kept" in message
    assert raised.value.__cause__ is not None
    assert fake_hub.commits == [] and fake_hub.created == []
    assert ("POST", "/api/repos/create") in fake_hub.requests


def test_read_only_token_is_a_no_write_access_error(fake_hub: FakeHub, built: Path) -> None:
    fake_hub.repo_dir(REPO_ID).mkdir(parents=True)  # someone else's existing repo
    fake_hub.read_only = True

    with pytest.raises(PushError, match="no write access") as raised:
        push_folder(built, REPO_ID, token=TOKEN, commit_message=COMMIT_MESSAGE, endpoint=fake_hub.url)

    assert REPO_ID in str(raised.value) and "kept" in str(raised.value)
    assert fake_hub.commits == []
    # create_repo(exist_ok=True) answered 403 falls back to repo info; the preupload is then refused.
    assert ("GET", f"/api/datasets/{REPO_ID}") in fake_hub.requests
    assert ("POST", f"/api/datasets/{REPO_ID}/preupload/main") in fake_hub.requests


def test_offline_mode_is_reported_before_any_request(
    fake_hub: FakeHub, built: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)

    with pytest.raises(PushError, match="offline") as raised:
        push_folder(built, REPO_ID, token=TOKEN, commit_message=COMMIT_MESSAGE, endpoint=fake_hub.url)

    assert "HF_HUB_OFFLINE" in str(raised.value) and REPO_ID in str(raised.value)
    assert fake_hub.requests == []


def test_missing_token_is_reported_before_any_request(
    fake_hub: FakeHub, built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_OIDC_RESOURCE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "empty-hf-home" / "token"))

    with pytest.raises(PushError, match="hf auth login") as raised:
        push_folder(built, REPO_ID, commit_message=COMMIT_MESSAGE, endpoint=fake_hub.url)

    assert "HF_TOKEN" in str(raised.value) and REPO_ID in str(raised.value)
    assert fake_hub.requests == []


def test_unreachable_hub_is_a_connection_error(online: None, built: Path) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    with pytest.raises(PushError, match="connection") as raised:
        push_folder(built, REPO_ID, token=TOKEN, commit_message=COMMIT_MESSAGE, endpoint=f"http://127.0.0.1:{port}")

    assert REPO_ID in str(raised.value) and "kept" in str(raised.value)


@pytest.mark.parametrize("exists", [False, True])
def test_folder_must_exist_and_have_a_readme(tmp_path: Path, exists: bool) -> None:
    folder = tmp_path / "build"
    if exists:
        folder.mkdir()
        (folder / "data.parquet").write_bytes(b"")
    with pytest.raises(PushError, match="no README.md" if exists else "not a folder"):
        push_folder(folder, REPO_ID, token=TOKEN, commit_message=COMMIT_MESSAGE, endpoint="http://127.0.0.1:9")
