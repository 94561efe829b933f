"""Tests for `textbones.presets.handles`: every handle form, with no network at all.

Nothing here may reach Kaggle or Hugging Face. Both download libraries are pointed at
127.0.0.1 instead: at a port nobody listens on (to see a failing connection), or at a tiny
HTTP server started by the test that plays the part of the real API.

* kagglehub 1.0.2 does not read `KAGGLE_API_ENDPOINT` (the constant exists in
  `kagglehub.config` but nothing uses it). Requests go through `kagglesdk`, whose base URL comes
  from `KAGGLE_API_ENVIRONMENT` and a fixed table `kagglesdk.kaggle_env._env_to_endpoint`, read
  at call time. The tests select the `LOCALHOST` environment and replace its table entry.
* huggingface_hub reads `HF_ENDPOINT`, `HF_HUB_OFFLINE` and `HF_HUB_CACHE` once, when
  `huggingface_hub.constants` is imported, and the code consults the module attributes at call
  time; setting the environment variables inside a test would therefore do nothing once the
  library is imported. The tests patch the attributes of `huggingface_hub.constants` instead.
"""

from __future__ import annotations

import doctest
import http.server
import json
import os
import pathlib
import threading
import time

import pytest

from tests.helpers.offline_hubs import closed_port, point_kaggle_at
from textbones.presets import handles
from textbones.presets.handles import PresetDownloadError, resolve_preset

BUILTIN = "bert_tiny_en_uncased"
BUILTIN_KAGGLE = "kaggle://keras/bert/keras/bert_tiny_en_uncased/3"
OFFLINE_BUDGET_S = 15.0
CONFIG_TEXT = json.dumps({"registered_name": "keras_hub>BertBackbone", "config": {}})


# --------------------------------------------------------------------------------------------
# Helpers and fixtures


class FakeServer:
    """A threaded HTTP server on 127.0.0.1 that answers through a routing function.

    `route(method, path, body)` returns `(status, headers, body_bytes)`. Every request is
    recorded in `requests` as `(method, path, body)`.
    """

    def __init__(self, route) -> None:
        self.requests: list[tuple[str, str, bytes]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            timeout = 10  # never let a stuck client hold a handler thread for long

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                outer.requests.append((self.command, self.path, body))
                status, headers, payload = route(self.command, self.path, body)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_POST = do_HEAD = _answer

            def log_message(self, *args) -> None:  # keep the test output quiet
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> FakeServer:
        self._thread.start()
        return self

    def __exit__(self, *_) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def fill_kaggle_cache(body: str, files: dict[str, str]) -> pathlib.Path:
    """Writes a finished kagglehub download of a versioned model handle into KAGGLEHUB_CACHE.

    kagglehub keeps `owner/model/framework/variation/version` under `<cache>/models/` as
    `models/owner/model/framework/variation/<version>/` and marks it finished with an empty
    `models/owner/model/framework/variation/<version>.complete` file next to it.
    """
    owner, model, framework, variation, version = body.split("/")
    cache = os.environ["KAGGLEHUB_CACHE"]
    parent = pathlib.Path(cache, "models", owner, model, framework, variation)
    folder = parent / version
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    (parent / f"{version}.complete").touch()
    return folder


def fill_hf_cache(repo_id: str, files: dict[str, str], commit: str = "a" * 40) -> pathlib.Path:
    """Writes a huggingface_hub cache entry: `models--org--name/{refs/main, snapshots/<commit>/}`.

    The real cache stores files under `blobs/` and symlinks them from the snapshot; plain
    files in the snapshot folder are read the same way.
    """
    import huggingface_hub.constants as hf_constants

    repo_folder = pathlib.Path(hf_constants.HF_HUB_CACHE, "models--" + repo_id.replace("/", "--"))
    (repo_folder / "refs").mkdir(parents=True)
    (repo_folder / "refs" / "main").write_text(commit)
    snapshot = repo_folder / "snapshots" / commit
    for name, text in files.items():
        (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
        (snapshot / name).write_text(text)
    return snapshot


def assert_offline_advice(message: str) -> None:
    assert "save_to_preset" in message
    assert "load_weights=False" in message


def resolve_failing(handle: str) -> tuple[PresetDownloadError, float]:
    start = time.monotonic()
    with pytest.raises(PresetDownloadError) as caught:
        resolve_preset(handle)
    elapsed = time.monotonic() - start
    error = caught.value
    assert error.__cause__ is None
    assert error.__suppress_context__ is True
    assert isinstance(error, OSError)
    return error, elapsed


# --------------------------------------------------------------------------------------------
# Local directories and malformed handles


def test_docstring_example_runs() -> None:
    result = doctest.testmod(handles, verbose=False)
    assert result.attempted > 0
    assert result.failed == 0


def test_local_directory_string_and_pathlike(tmp_path) -> None:
    (tmp_path / "config.json").write_text(CONFIG_TEXT)
    assert resolve_preset(str(tmp_path)) == tmp_path
    assert resolve_preset(tmp_path) == tmp_path
    assert (resolve_preset(tmp_path) / "config.json").is_file()


def test_local_directory_expands_user(tmp_path) -> None:
    preset = pathlib.Path(os.environ["HOME"], "my_preset")
    preset.mkdir()
    assert resolve_preset("~/my_preset") == preset
    assert resolve_preset(pathlib.Path("~/my_preset")) == preset


def test_existing_directory_in_cwd_wins_over_a_name(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / BUILTIN).mkdir()
    assert resolve_preset(BUILTIN) == pathlib.Path(BUILTIN)


@pytest.mark.parametrize("relative", ["missing_dir/preset", "./missing", "~/missing_preset"])
def test_missing_path_is_file_not_found(tmp_path, monkeypatch, relative) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError) as caught:
        resolve_preset(relative)
    assert relative in str(caught.value)


def test_missing_absolute_and_pathlike_paths(tmp_path) -> None:
    missing = tmp_path / "nothing" / "here"
    for preset in (str(missing), missing):
        with pytest.raises(FileNotFoundError, match=str(missing)):
            resolve_preset(preset)


def test_a_file_is_not_a_preset(tmp_path) -> None:
    config = tmp_path / "config.json"
    config.write_text(CONFIG_TEXT)
    with pytest.raises(NotADirectoryError, match="config.json"):
        resolve_preset(config)


def test_unknown_name_suggests_the_closest_builtin() -> None:
    with pytest.raises(ValueError) as caught:
        resolve_preset("bert_base_en_uncsed")
    message = str(caught.value)
    assert "Did you mean 'bert_base_en_uncased'?" in message
    assert "kaggle://" in message and "hf://" in message  # the accepted forms are listed


def test_unknown_name_without_close_match_lists_accepted_forms() -> None:
    with pytest.raises(ValueError) as caught:
        resolve_preset("zzzz")
    message = str(caught.value)
    assert "Did you mean" not in message
    assert "local preset directory" in message and "built-in preset name" in message


@pytest.mark.parametrize(
    "handle",
    [
        "kaggle://keras/bert/keras",  # too few parts
        "kaggle://keras/bert/keras/bert_tiny_en_uncased/3/extra",  # too many
        "kaggle://keras/bert/keras/bert_tiny_en_uncased/latest",  # version not a number
        "kaggle://keras//keras/bert_tiny_en_uncased/3",  # empty part
        "kaggle://",
    ],
)
def test_malformed_kaggle_handle(handle) -> None:
    with pytest.raises(ValueError, match="kaggle://<owner>/<model>/<framework>/<variation>"):
        resolve_preset(handle)


@pytest.mark.parametrize(
    "handle",
    ["hf://", "hf://bert-base-uncased", "hf://org/name/extra", "hf://org/na me", "hf://org/../x"],
)
def test_malformed_hf_handle(handle) -> None:
    with pytest.raises(ValueError, match=r"hf://<owner>/<repository>"):
        resolve_preset(handle)


def test_unknown_scheme_and_bad_types() -> None:
    with pytest.raises(ValueError, match="s3://"):
        resolve_preset("s3://bucket/preset")
    with pytest.raises(ValueError, match="empty"):
        resolve_preset("   ")
    with pytest.raises(TypeError):
        resolve_preset(42)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Kaggle


def test_builtin_name_offline_fails_fast_with_advice() -> None:
    error, elapsed = resolve_failing(BUILTIN)
    message = str(error)
    assert BUILTIN in message
    assert BUILTIN_KAGGLE in message
    assert "could not connect to 127.0.0.1:" in message and "connection refused" in message
    assert "KAGGLEHUB_CACHE" in message
    assert_offline_advice(message)
    assert error.handle == BUILTIN
    assert elapsed < OFFLINE_BUDGET_S


def test_kaggle_through_an_unreachable_proxy_fails_fast(monkeypatch) -> None:
    # The default (production) Kaggle endpoint, but every request must go through an HTTP
    # proxy that is not there: requests raises ProxyError without ever resolving kaggle.com.
    monkeypatch.delenv("KAGGLE_API_ENVIRONMENT")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name)
    proxy = f"http://127.0.0.1:{closed_port()}"
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(name, proxy)
    error, elapsed = resolve_failing(BUILTIN_KAGGLE)
    assert "proxy" in error.reason
    assert BUILTIN_KAGGLE in str(error)
    assert elapsed < OFFLINE_BUDGET_S


def test_cached_versioned_kaggle_handle_needs_no_network(capfd, recwarn) -> None:
    body = BUILTIN_KAGGLE[len("kaggle://") :]
    files = {"config.json": CONFIG_TEXT, "assets/tokenizer/vocabulary.txt": "[PAD]\n"}
    folder = fill_kaggle_cache(body, files)
    capfd.readouterr()

    # The endpoint is a closed port: any request would fail, so success proves the cache hit.
    for handle in (BUILTIN_KAGGLE, BUILTIN):
        resolved = resolve_preset(handle)
        assert resolved == folder
        assert json.loads((resolved / "config.json").read_text()) == json.loads(CONFIG_TEXT)

    out, err = capfd.readouterr()
    assert out == "" and err == ""  # a cache hit prints nothing
    assert len(recwarn) == 0


def test_unversioned_kaggle_handle_needs_the_network_even_when_cached() -> None:
    body = BUILTIN_KAGGLE[len("kaggle://") :]
    fill_kaggle_cache(body, {"config.json": CONFIG_TEXT})
    unversioned = BUILTIN_KAGGLE.rsplit("/", 1)[0]
    error, elapsed = resolve_failing(unversioned)
    assert unversioned in str(error)
    assert "pin the version" in str(error)
    assert elapsed < OFFLINE_BUDGET_S


def _kaggle_api(files: dict[str, bytes]):
    """Routes for the two Kaggle API calls kagglehub makes to download a small model."""

    def route(method: str, path: str, body: bytes):
        if path.endswith("/models.ModelApiService/ListModelInstanceVersionFiles"):
            listing = {"files": [{"name": name, "size": len(data)} for name, data in files.items()]}
            return 200, {"Content-Type": "application/json"}, json.dumps(listing).encode()
        if path.endswith("/models.ModelApiService/DownloadModelInstanceVersion"):
            wanted = json.loads(body or b"{}").get("path", "")
            if wanted in files:
                return 200, {"Content-Type": "application/octet-stream"}, files[wanted]
        missing = b'{"code": 404, "message": "no such thing"}'
        return 404, {"Content-Type": "application/json"}, missing

    return route


def test_kaggle_download_through_kagglehub(monkeypatch, capfd) -> None:
    files = {"config.json": CONFIG_TEXT.encode(), "metadata.json": b'{"keras_version": "3.5.0"}'}
    with FakeServer(_kaggle_api(files)) as server:
        point_kaggle_at(monkeypatch, server.url)
        resolved = resolve_preset(BUILTIN_KAGGLE)
    assert resolved.is_dir()
    assert str(resolved).startswith(os.environ["KAGGLEHUB_CACHE"])
    assert (resolved / "config.json").read_bytes() == files["config.json"]
    assert (resolved / "metadata.json").read_bytes() == files["metadata.json"]
    assert any("ListModelInstanceVersionFiles" in path for _, path, _ in server.requests)

    # The server is gone and the endpoint closed again: the second call is served by the cache.
    point_kaggle_at(monkeypatch, f"http://127.0.0.1:{closed_port()}")
    capfd.readouterr()
    assert resolve_preset(BUILTIN) == resolved
    assert capfd.readouterr() == ("", "")


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (404, "HTTP 404 not found"),
        (403, "access denied (HTTP 403)"),
        (401, "access denied (HTTP 401)"),
        (503, "HTTP 503"),
    ],
)
def test_kaggle_http_errors_are_explained(monkeypatch, status, expected) -> None:
    def route(method, path, body):
        payload = json.dumps({"code": status, "message": "refused by the fake server"}).encode()
        return status, {"Content-Type": "application/json"}, payload

    with FakeServer(route) as server:
        point_kaggle_at(monkeypatch, server.url)
        error, elapsed = resolve_failing(BUILTIN)
    assert expected in error.reason
    assert BUILTIN in str(error) and BUILTIN_KAGGLE in str(error)
    assert_offline_advice(str(error))
    assert elapsed < OFFLINE_BUDGET_S


# --------------------------------------------------------------------------------------------
# Hugging Face


def test_cached_hf_snapshot_in_offline_mode(monkeypatch, capfd, recwarn) -> None:
    import huggingface_hub.constants as hf_constants

    files = {"config.json": '{"model_type": "bert"}', "vocab.txt": "[PAD]\n"}
    snapshot = fill_hf_cache("some-org/tiny-bert", files)
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    capfd.readouterr()
    resolved = resolve_preset("hf://some-org/tiny-bert")
    assert resolved == snapshot
    assert (resolved / "config.json").is_file() and (resolved / "vocab.txt").is_file()
    assert capfd.readouterr() == ("", "")
    assert len(recwarn) == 0


def test_cached_hf_snapshot_is_used_when_the_hub_is_unreachable() -> None:
    # Not offline: huggingface_hub tries the (closed) endpoint first, then falls back to the cache.
    snapshot = fill_hf_cache("some-org/tiny-bert", {"config.json": '{"model_type": "bert"}'})
    start = time.monotonic()
    assert resolve_preset("hf://some-org/tiny-bert") == snapshot
    assert time.monotonic() - start < OFFLINE_BUDGET_S


def test_hf_offline_mode_with_empty_cache(monkeypatch) -> None:
    import huggingface_hub.constants as hf_constants

    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    error, elapsed = resolve_failing("hf://some-org/not-cached")
    message = str(error)
    assert "hf://some-org/not-cached" in message
    assert "offline mode" in error.reason
    assert "HF_HOME" in message
    assert_offline_advice(message)
    assert elapsed < OFFLINE_BUDGET_S


def test_hf_unreachable_endpoint_fails_fast() -> None:
    error, elapsed = resolve_failing("hf://some-org/not-cached")
    assert "hf://some-org/not-cached" in str(error)
    assert "could not connect to 127.0.0.1:" in error.reason
    assert "connection refused" in error.reason
    assert_offline_advice(str(error))
    assert elapsed < OFFLINE_BUDGET_S


@pytest.mark.parametrize(
    ("status", "error_code", "expected"),
    [
        (401, "RepoNotFound", "not found"),
        (404, "RepoNotFound", "not found"),
        (403, "GatedRepo", "access denied (HTTP 403): the repository is gated"),
        (500, None, "HTTP 500"),
    ],
)
def test_hf_http_errors_are_explained(monkeypatch, status, error_code, expected) -> None:
    import huggingface_hub.constants as hf_constants

    def route(method, path, body):
        headers = {"Content-Type": "application/json"}
        if error_code:
            headers["X-Error-Code"] = error_code
        return status, headers, json.dumps({"error": "refused by the fake server"}).encode()

    with FakeServer(route) as server:
        monkeypatch.setattr(hf_constants, "ENDPOINT", server.url)
        error, elapsed = resolve_failing("hf://some-org/private-model")
    assert expected in error.reason
    assert "hf://some-org/private-model" in str(error)
    assert elapsed < OFFLINE_BUDGET_S


def test_hf_download_through_huggingface_hub(monkeypatch) -> None:
    """A whole `snapshot_download` against a fake Hub: listing, then one file."""
    import huggingface_hub.constants as hf_constants

    commit = "b" * 40
    files = {"config.json": b'{"model_type": "bert"}', "tf_model.h5": b"not wanted"}

    def route(method, path, body):
        json_headers = {"Content-Type": "application/json"}
        if path.startswith("/api/models/some-org/tiny-bert/revision/"):
            siblings = [{"rfilename": name} for name in files]
            info = {"id": "some-org/tiny-bert", "sha": commit, "siblings": siblings}
            return 200, json_headers, json.dumps(info).encode()
        if path.startswith(f"/api/models/some-org/tiny-bert/tree/{commit}"):
            tree = [
                {"type": "file", "path": name, "size": len(data), "oid": f"{index:040d}"}
                for index, (name, data) in enumerate(files.items())
            ]
            return 200, json_headers, json.dumps(tree).encode()
        for name, data in files.items():
            if path.endswith(f"/resolve/{commit}/{name}"):
                headers = {
                    "Content-Type": "application/octet-stream",
                    "X-Repo-Commit": commit,
                    "ETag": f'"{name}-etag"',
                }
                return 200, headers, data
        return 404, {"X-Error-Code": "EntryNotFound"}, b"{}"

    with FakeServer(route) as server:
        monkeypatch.setattr(hf_constants, "ENDPOINT", server.url)
        # File URLs are built from this template, itself made from HF_ENDPOINT at import time.
        template = server.url + "/{repo_id}/resolve/{revision}/{filename}"
        monkeypatch.setattr(hf_constants, "HUGGINGFACE_CO_URL_TEMPLATE", template)
        resolved = resolve_preset("hf://some-org/tiny-bert")
    assert (resolved / "config.json").read_bytes() == files["config.json"]
    assert not (resolved / "tf_model.h5").exists()  # only the files a preset can use
