"""Publishing a preset directory to Kaggle Models or the Hugging Face Hub."""

from __future__ import annotations

import os
import pathlib

from textbones.presets.download_errors import describe_failure
from textbones.presets.files import CONFIG_FILE, SHARDED_WEIGHTS_INDEX, WEIGHTS_FILE
from textbones.presets.handles import (
    _HF_SCHEME,
    _KAGGLE_SCHEME,
    _validated_hf_repo_id,
    _validated_kaggle_handle,
)
from textbones.presets.preset_files import read_json


class PresetUploadError(OSError):
    """A preset could not be uploaded; the message names the handle, the cause and what to try."""


def upload_preset(uri: str, preset: str | os.PathLike) -> None:
    """Upload the preset directory ``preset`` to ``uri``.

    ``uri`` is ``kaggle://<owner>/<model>/<framework>/<variation>`` (uploaded with
    ``kagglehub.model_upload``, which makes a new version) or ``hf://<owner>/<repository>``
    (the repository is created if needed, then the folder is uploaded with
    ``huggingface_hub.upload_folder``). Credentials come from those libraries' usual
    settings (``kagglehub.login()`` / ``KAGGLE_KEY``, ``huggingface-cli login`` / ``HF_TOKEN``).
    The directory is checked first: an incomplete preset is refused before anything is sent.

    Args:
        uri: where to publish.
        preset: a directory written by ``save_to_preset``.

    Example:

    >>> import tempfile, textbones
    >>> folder = tempfile.mkdtemp()
    >>> textbones.upload_preset("hf://me/my-bert", folder)
    Traceback (most recent call last):
    ...
    FileNotFoundError: ... is not a complete preset: it has no config.json ...
    """
    directory = _checked_preset_directory(preset)
    if not isinstance(uri, str):
        raise TypeError(
            f"`uri` must be a string such as 'hf://owner/name', got {type(uri).__name__}."
        )
    if uri.startswith(_KAGGLE_SCHEME):
        handle = _validated_kaggle_handle(uri)
        if len(handle.split("/")) == 5:
            raise ValueError(
                f"Upload to {uri!r} names a version; Kaggle numbers versions itself. Drop the "
                "trailing '/<version>'."
            )
        _call("kaggle", uri, lambda: _kagglehub().model_upload(handle, str(directory)))
    elif uri.startswith(_HF_SCHEME):
        repo_id = _validated_hf_repo_id(uri)

        def upload():
            import huggingface_hub

            huggingface_hub.create_repo(repo_id, exist_ok=True)
            huggingface_hub.upload_folder(repo_id=repo_id, folder_path=str(directory))

        _call("hf", uri, upload)
    else:
        raise ValueError(
            f"Can't upload to {uri!r}: use 'kaggle://<owner>/<model>/<framework>/<variation>' "
            "or 'hf://<owner>/<repository>'."
        )


def _kagglehub():
    import kagglehub

    return kagglehub


def _checked_preset_directory(preset) -> pathlib.Path:
    directory = pathlib.Path(preset).expanduser()
    if not directory.is_dir():
        raise FileNotFoundError(
            f"{directory} is not a directory. Pass the folder `save_to_preset` wrote."
        )
    read_json(directory, CONFIG_FILE)
    if not (
        (directory / WEIGHTS_FILE).is_file()
        or (directory / SHARDED_WEIGHTS_INDEX).is_file()
        or any(directory.glob("*.safetensors"))
    ):
        raise FileNotFoundError(
            f"{directory} has a {CONFIG_FILE} but no weights ({WEIGHTS_FILE}); it is not a "
            "complete preset. Save it again with `save_to_preset` before uploading."
        )
    return directory


def _call(source: str, uri: str, action) -> None:
    try:
        action()
    except (ValueError, TypeError):
        raise
    except Exception as error:
        raise PresetUploadError(
            f"Uploading to {uri!r} failed: {describe_failure(error, source=source)}. Check your "
            "network and that you are logged in with write access ("
            + (
                "`kagglehub.login()` or KAGGLE_USERNAME/KAGGLE_KEY"
                if source == "kaggle"
                else "`huggingface-cli login` or HF_TOKEN"
            )
            + ")."
        ) from None
