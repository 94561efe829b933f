"""Reading ``transformers`` checkpoint files: safetensors (single and sharded), torch pickles,
damage."""

import json

import ml_dtypes
import numpy as np
import pytest

from tests.helpers.transformers_checkpoints import read_all, shard, write_all
from textbones.presets.transformers.checkpoint import TransformersCheckpoint
from textbones.presets.transformers.safetensors_file import read_header, write_safetensors


def _checkpoint_dir(tmp_path, tensors):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    write_all(tmp_path / "model.safetensors", tensors)
    return tmp_path


def test_safetensors_round_trip_keeps_dtypes_shapes_and_values(tmp_path):
    tensors = {
        "a": np.arange(6, dtype="float32").reshape(2, 3),
        "b": np.array([1.5, -2.0], dtype=ml_dtypes.bfloat16),
        "c": np.array([[0.25]], dtype="float16"),
        "empty": np.zeros((0, 4), "float32"),
    }
    write_all(tmp_path / "t.safetensors", tensors)
    back = read_all(tmp_path / "t.safetensors")
    for name, value in tensors.items():
        assert back[name].dtype == value.dtype and back[name].shape == value.shape
        np.testing.assert_array_equal(back[name].astype("float32"), value.astype("float32"))


def test_the_header_is_what_the_format_says(tmp_path):
    path = tmp_path / "t.safetensors"
    write_safetensors(
        path,
        [("w", (2,), np.dtype("float32"), lambda: np.array([1, 2], "float32"))],
        {"format": "pt"},
    )
    raw = path.read_bytes()
    length = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + length])
    assert (8 + length) % 8 == 0
    assert header == {
        "__metadata__": {"format": "pt"},
        "w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
    }
    assert np.frombuffer(raw[8 + length :], "<f4").tolist() == [1.0, 2.0]


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda raw: raw[:5], "shorter than a safetensors header"),
        (lambda raw: raw[:-4], "bytes of 'w' are missing"),
        (lambda raw: (10**12).to_bytes(8, "little") + raw[8:], "header claims"),
        (lambda raw: raw[:8] + b"[" + raw[9:], "not JSON"),
    ],
)
def test_damaged_safetensors_files_are_named(tmp_path, damage, message):
    path = tmp_path / "t.safetensors"
    write_all(path, {"w": np.ones((4, 4), "float32")})
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(ValueError, match=message) as error:
        read_header(path)
    assert "download or save the checkpoint again" in str(error.value)


def test_sharded_checkpoints_read_like_single_files(tmp_path):
    tensors = {f"layer.{index}.weight": np.full((2, 2), index, "float32") for index in range(5)}
    folder = _checkpoint_dir(tmp_path, tensors)
    shard(folder, parts=3)
    assert not (folder / "model.safetensors").exists()
    with TransformersCheckpoint(folder) as checkpoint:
        assert sorted(checkpoint.keys()) == sorted(tensors)
        assert "model.safetensors.index.json" in checkpoint.weights_description
        for name, value in tensors.items():
            np.testing.assert_array_equal(checkpoint.read(name), value)


def test_a_missing_shard_is_named(tmp_path):
    folder = _checkpoint_dir(tmp_path, {"a": np.ones(2, "float32"), "b": np.ones(2, "float32")})
    shard(folder, parts=2)
    (folder / "model-00002-of-00002.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="model-00002-of-00002.safetensors"):
        TransformersCheckpoint(folder)


def test_pytorch_bin_without_torch_says_install_torch_or_convert(tmp_path):
    try:
        import torch  # noqa: F401

        pytest.skip("torch is installed: the parity tests load a real pytorch_model.bin")
    except ImportError:
        pass
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    (tmp_path / "pytorch_model.bin").write_bytes(b"PK\x03\x04 not read without torch")
    with pytest.raises(ImportError, match=r"Install torch .*convert the checkpoint to safetensors"):
        TransformersCheckpoint(tmp_path)


def test_no_readable_weights_names_what_is_there(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    (tmp_path / "tf_model.h5").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="holds only tf_model.h5.*load_weights=False"):
        TransformersCheckpoint(tmp_path)


def test_safetensors_is_preferred_to_a_torch_pickle(tmp_path):
    folder = _checkpoint_dir(tmp_path, {"a": np.ones(2, "float32")})
    (folder / "pytorch_model.bin").write_bytes(b"never read")
    with TransformersCheckpoint(folder) as checkpoint:
        assert checkpoint.keys() == ["a"]


def test_hf_handles_fetch_torch_pickles_only_for_repositories_without_safetensors(
    monkeypatch, tmp_path
):
    import huggingface_hub

    from textbones.presets.handles import resolve_preset

    calls = []

    def fake_snapshot_download(repo_id, allow_patterns):
        calls.append(list(allow_patterns))
        folder = tmp_path / repo_id.replace("/", "--")
        folder.mkdir(exist_ok=True)
        (folder / "config.json").write_text(json.dumps({"model_type": "bert"}))
        if repo_id.endswith("safe"):
            (folder / "model.safetensors").write_bytes(b"")
        return str(folder)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download)
    resolve_preset("hf://org/model-safe")
    assert len(calls) == 1 and not any(pattern.endswith(".bin") for pattern in calls[0])
    resolve_preset("hf://org/model-old")
    assert len(calls) == 3 and "pytorch_model*.bin" in calls[2]
