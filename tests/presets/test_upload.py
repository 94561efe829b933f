"""upload_preset: checks the directory, then hands it to kagglehub or huggingface_hub."""

import pytest

import textbones
from textbones.presets import upload
from textbones.presets.upload import PresetUploadError


@pytest.fixture
def preset(tmp_path):
    folder = tmp_path / "tiny"
    textbones.models.FNetBackbone(50, 1, 8, 16).save_to_preset(folder)
    return folder


def test_kaggle_upload_passes_the_handle_and_folder(preset, monkeypatch):
    calls = []

    class FakeKaggle:
        @staticmethod
        def model_upload(handle, local_model_dir):
            calls.append((handle, local_model_dir))

    monkeypatch.setattr(upload, "_kagglehub", lambda: FakeKaggle)
    textbones.upload_preset("kaggle://me/tiny/keras/fnet", preset)
    assert calls == [("me/tiny/keras/fnet", str(preset))]


def test_hugging_face_upload_creates_the_repository_then_uploads(preset, monkeypatch):
    import huggingface_hub

    calls = []
    monkeypatch.setattr(
        huggingface_hub,
        "create_repo",
        lambda repo_id, exist_ok: calls.append(("create", repo_id, exist_ok)),
    )
    monkeypatch.setattr(
        huggingface_hub,
        "upload_folder",
        lambda repo_id, folder_path: calls.append(("upload", repo_id, folder_path)),
    )
    textbones.upload_preset("hf://me/tiny-fnet", preset)
    assert calls == [("create", "me/tiny-fnet", True), ("upload", "me/tiny-fnet", str(preset))]


def test_a_failed_upload_says_what_to_check(preset, monkeypatch):
    class Refusing:
        @staticmethod
        def model_upload(handle, local_model_dir):
            raise ConnectionError("Connection refused")

    monkeypatch.setattr(upload, "_kagglehub", lambda: Refusing)
    with pytest.raises(
        PresetUploadError,
        match="Uploading to 'kaggle://me/tiny/keras/fnet' failed: .*kagglehub.login",
    ):
        textbones.upload_preset("kaggle://me/tiny/keras/fnet", preset)


def test_incomplete_presets_and_bad_handles_are_refused_before_any_upload(
    preset, tmp_path, monkeypatch
):
    monkeypatch.setattr(upload, "_kagglehub", lambda: pytest.fail("nothing may be uploaded"))
    (preset / "model.weights.h5").unlink()
    with pytest.raises(FileNotFoundError, match="no weights"):
        textbones.upload_preset("kaggle://me/tiny/keras/fnet", preset)
    with pytest.raises(FileNotFoundError, match="no config.json"):
        textbones.upload_preset("kaggle://me/tiny/keras/fnet", tmp_path)
    textbones.models.FNetBackbone(50, 1, 8, 16).save_to_preset(preset)
    with pytest.raises(ValueError, match="names a version"):
        textbones.upload_preset("kaggle://me/tiny/keras/fnet/3", preset)
    with pytest.raises(ValueError, match="Malformed Hugging Face handle"):
        textbones.upload_preset("hf://only-one-part", preset)
    with pytest.raises(ValueError, match="Can't upload to 's3://bucket'"):
        textbones.upload_preset("s3://bucket", preset)
