"""Upload a locally built dataset folder (or a Space's folder) to a Hugging Face Hub repo in one commit.

Every failure (offline, not logged in, bad token, no write access, Hub unreachable) becomes a
`PushError` whose message says what to do and that the local build was kept.
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx2
from huggingface_hub import CommitOperationAdd, HfApi, constants, get_token
from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled, OIDCError, RepositoryNotFoundError

__all__ = ["PushError", "push_folder"]


class PushError(RuntimeError):
    """Why an upload failed, in one sentence a user can act on (offline, not logged in, no rights, ...)."""


def push_folder(
    folder: str | os.PathLike,
    repo_id: str,
    *,
    private: bool = False,
    token: str | None = None,
    commit_message: str,
    endpoint: str | None = None,
    repo_type: str = "dataset",
) -> str:
    """Create the dataset repo `repo_id` if needed and upload every file of `folder` in one commit; return the commit URL.

    ``repo_type="space"`` pushes a Gradio Space instead (`explorer.space`), its README.md the Space card.

    `token=None` resolves the token the usual huggingface_hub way (``HF_TOKEN``, then the
    ``hf auth login`` cache). `endpoint=None` means ``HF_ENDPOINT`` or https://huggingface.co.
    `private` only applies when the repo is created; an existing repo keeps its visibility.
    Raises `PushError` for a missing folder or README.md and for every Hub or network failure
    (chained to the original exception); nothing in `folder` is modified or deleted.
    """
    path = Path(folder)
    if not path.is_dir():
        raise PushError(f"Cannot push to {repo_id}: {str(path)!r} is not a folder; build the dataset first.")
    if not (path / "README.md").is_file():
        raise PushError(
            f"Cannot push to {repo_id}: {str(path)!r} has no README.md (the repo's card; a dataset's declares its configs); "
            "rebuild the folder."
        )
    kept = f"the local build in {str(path)!r} was kept"

    if constants.is_offline_mode():
        raise PushError(_offline_message(repo_id, kept))
    if token is None:
        try:
            token = get_token()
        except OIDCError as exc:
            raise PushError(f"Cannot push to {repo_id}: could not get a Hub token via OIDC ({exc}); {kept}.") from exc
    if not token:
        raise PushError(
            f"Cannot push to {repo_id}: not logged in to the Hugging Face Hub; run `hf auth login` or set HF_TOKEN "
            f"to a token with write access ({kept})."
        )

    api = HfApi(endpoint=endpoint, token=token)
    hub = api.endpoint
    try:
        space_sdk = "gradio" if repo_type == "space" else None
        repo_url = api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True, space_sdk=space_sdk)
        # create_commit, not upload_folder: upload_folder may split a large folder into several commits.
        operations = [
            CommitOperationAdd(path_in_repo=file.relative_to(path).as_posix(), path_or_fileobj=str(file))
            for file in sorted(path.rglob("*"))
            if file.is_file()
        ]
        info = api.create_commit(
            repo_id=repo_url.repo_id,
            repo_type=repo_type,
            operations=operations,
            commit_message=commit_message,
        )
    except OfflineModeIsEnabled as exc:
        raise PushError(_offline_message(repo_id, kept)) from exc
    except HfHubHTTPError as exc:
        raise PushError(_http_message(exc, repo_id, hub, kept)) from exc
    except httpx2.TimeoutException as exc:
        raise PushError(
            f"Cannot push to {repo_id}: the connection to {hub} timed out ({type(exc).__name__}); "
            f"check your network and retry ({kept})."
        ) from exc
    except httpx2.TransportError as exc:
        raise PushError(
            f"Cannot push to {repo_id}: connection to {hub} failed ({type(exc).__name__}: {exc}); "
            f"check your network or proxy and retry ({kept})."
        ) from exc
    except httpx2.HTTPError as exc:
        raise PushError(f"Cannot push to {repo_id}: request to {hub} failed ({exc}); {kept}.") from exc
    except ValueError as exc:
        if "README.md" not in str(exc):
            raise
        # The Hub's /api/validate-yaml rejected the card's YAML front matter.
        raise PushError(f"Cannot push to {repo_id}: the Hub rejected README.md: {exc} ({kept}).") from exc
    return str(info.commit_url)


def _offline_message(repo_id: str, kept: str) -> str:
    return (
        f"Cannot push to {repo_id}: Hugging Face offline mode is on (HF_HUB_OFFLINE=1); "
        f"unset HF_HUB_OFFLINE to upload ({kept})."
    )


def _http_message(exc: HfHubHTTPError, repo_id: str, hub: str, kept: str) -> str:
    status = exc.response.status_code if exc.response is not None else None
    server = f" The Hub said: {exc.server_message}." if exc.server_message else ""
    if status == 401:
        return (
            f"Cannot push to {repo_id}: authentication failed (HTTP 401: token missing, invalid or expired); "
            f"run `hf auth login` or set HF_TOKEN to a valid write token ({kept}).{server}"
        )
    if status == 403:
        return (
            f"Cannot push to {repo_id}: no write access (HTTP 403); use a token with write permission on this "
            f"namespace, or push to a repo you own ({kept}).{server}"
        )
    if isinstance(exc, RepositoryNotFoundError) or status == 404:
        return (
            f"Cannot push to {repo_id}: the repo was not found on {hub} or your token cannot see it (HTTP {status}); "
            f"check the repo id and your token ({kept}).{server}"
        )
    return f"Cannot push to {repo_id}: the Hub answered HTTP {status} ({kept}).{server}"
