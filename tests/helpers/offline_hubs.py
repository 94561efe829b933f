"""Keep Kaggle and Hugging Face downloads on this machine during tests.

* kagglehub does not read ``KAGGLE_API_ENDPOINT``; its requests go through ``kagglesdk``,
  whose base URL comes from ``KAGGLE_API_ENVIRONMENT`` and the table
  ``kagglesdk.kaggle_env._env_to_endpoint``, read at call time. We select the
  ``LOCALHOST`` environment and replace that table entry.
* huggingface_hub reads ``HF_ENDPOINT``, ``HF_HUB_OFFLINE`` and ``HF_HUB_CACHE`` once, when
  ``huggingface_hub.constants`` is imported, so we patch that module's attributes rather
  than the environment.
"""

import socket


def closed_port() -> int:
    """A localhost port that nothing listens on (bound once by the OS, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def isolate_hubs(monkeypatch, tmp_path) -> None:
    """Empty caches, no credentials, and both hubs' endpoints on a closed localhost port."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")

    # kagglehub: empty cache, a HOME without ~/.kaggle credentials, not in a Kaggle notebook
    # or on Colab, and every API call sent to a closed localhost port.
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("KAGGLEHUB_CACHE", str(tmp_path / "kagglehub"))
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(home / ".kaggle"))
    for name in (
        "KAGGLE_USERNAME",
        "KAGGLE_KEY",
        "KAGGLE_API_TOKEN",
        "KAGGLE_KERNEL_RUN_TYPE",
        "KAGGLE_DATA_PROXY_URL",
        "TBE_RUNTIME_ADDR",
    ):
        monkeypatch.delenv(name, raising=False)
    import kagglehub.config

    monkeypatch.setattr(kagglehub.config, "_kaggle_credentials", None)
    point_kaggle_at(monkeypatch, f"http://127.0.0.1:{closed_port()}")

    # huggingface_hub: see the module docstring for why the constants are patched.
    import huggingface_hub.constants as hf_constants

    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(hf_constants, "ENDPOINT", f"http://127.0.0.1:{closed_port()}")
    # No token from the environment or from the user's token file: nothing to send to the fake
    # servers, and no attempt to refresh a stored login token over the network.
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_OIDC_RESOURCE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(hf_constants, "HF_TOKEN_PATH", str(tmp_path / "hf" / "token"))


def point_kaggle_at(monkeypatch, url: str) -> None:
    """Sends kagglehub's API calls to `url` (kagglehub ignores KAGGLE_API_ENDPOINT)."""
    from kagglesdk import kaggle_env

    monkeypatch.setenv("KAGGLE_API_ENVIRONMENT", "LOCALHOST")
    monkeypatch.setitem(kaggle_env._env_to_endpoint, kaggle_env.KaggleEnv.LOCAL, url)
