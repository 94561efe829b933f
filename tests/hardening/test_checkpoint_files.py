"""Issue 11, sections 1, 5 (legacy ``pytorch_model.bin``) and 6: what a preset's files may
name, what errors may say, how strictly safetensors files are read, and that Keras weights
files stream into the model bit for bit as Keras loads them."""

from __future__ import annotations

import json
import os
import pathlib
import struct
import subprocess

import h5py
import keras
import numpy as np
import pytest

import textbones
from tests.conftest import TINY_CONFIGS, backbone_class, make_tiny_backbone, to_numpy
from tests.hardening.safetensors_cases import CASES
from tests.helpers import families
from tests.helpers.reference_env import reference_python
from tests.helpers.transformers_checkpoints import shard
from textbones.presets.transformers.checkpoint import TransformersCheckpoint
from textbones.presets.transformers.safetensors_file import read_header, read_tensor
from textbones.presets.weights_file import load_h5_weights

HERE = pathlib.Path(__file__).resolve().parent
SECRET = "root:x:0:0:TOPSECRET-7f3a:/root:/bin/bash\n"
# What the first 8 bytes of SECRET read as a little-endian length: never in a message.
SECRET_AS_LENGTH = str(struct.unpack("<Q", SECRET.encode()[:8])[0])


def _assert_no_content(message: str) -> None:
    for leak in ("TOPSECRET", "root:x", "/bin/bash", SECRET_AS_LENGTH, "\\x", "0xff"):
        assert leak not in message, f"the message echoes the file ({leak!r}): {message}"


@pytest.fixture(scope="module")
def hf_checkpoint(tmp_path_factory):
    """A tiny BERT ``transformers`` checkpoint (model.safetensors) and its backbone."""
    folder = tmp_path_factory.mktemp("hf") / "bert"
    model = make_tiny_backbone("bert")
    model.save_to_preset(folder, format="transformers")
    return folder, model


@pytest.fixture
def sharded_checkpoint(hf_checkpoint, tmp_path):
    folder = tmp_path / "sharded"
    folder.mkdir()
    for path in hf_checkpoint[0].iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    shard(folder, parts=2)
    (tmp_path / "secret.txt").write_text(SECRET)
    return folder


def _point_index_at(folder: pathlib.Path, index_name: str, target: str) -> str:
    """Make the first weight_map entry of ``index_name`` name ``target``; that entry's key."""
    path = folder / index_name
    index = json.loads(path.read_text())
    key = sorted(index["weight_map"])[0]
    index["weight_map"][key] = target
    path.write_text(json.dumps(index))
    return key


# -- 1. nothing outside the preset is read -------------------------------------------------------


INDEXES = ["model.safetensors.index.json", "pytorch_model.bin.index.json"]


@pytest.mark.parametrize("index_name", INDEXES)
@pytest.mark.parametrize("how", ["absolute", "dot-dot", "symlink-out", "dot-dot-inside-name"])
def test_weight_map_entries_must_stay_inside_the_checkpoint(sharded_checkpoint, index_name, how):
    folder = sharded_checkpoint
    if index_name.startswith("pytorch"):
        (folder / "model.safetensors.index.json").rename(folder / index_name)
    secret = folder.parent / "secret.txt"
    if how == "absolute":
        target = str(secret)
    elif how == "dot-dot":
        target = "../secret.txt"
    elif how == "dot-dot-inside-name":
        target = "sub/../../secret.txt"
    else:
        os.symlink(secret, folder / "innocent.safetensors")
        target = "innocent.safetensors"
    key = _point_index_at(folder, index_name, target)
    expected = rf"weight_map entry '{key}' of .*{index_name} names '.*', which is outside"
    with pytest.raises(ValueError, match=expected) as error:
        TransformersCheckpoint(folder)
    assert "a preset may only refer to files inside its own folder" in str(error.value)
    _assert_no_content(str(error.value))
    # Through the public API too (also what an hf:// download ends in).
    with pytest.raises(ValueError, match="which is outside"):
        textbones.models.Backbone.from_preset(folder)


def test_a_weight_map_entry_that_is_not_a_file_name_is_refused(sharded_checkpoint):
    key = _point_index_at(sharded_checkpoint, "model.safetensors.index.json", ["a", "list"])
    expected = rf"weight_map entry '{key}' of .* names \['a', 'list'\], which is not a file name"
    with pytest.raises(ValueError, match=expected):
        TransformersCheckpoint(sharded_checkpoint)


def test_a_symlink_that_stays_inside_is_followed(sharded_checkpoint):
    folder = sharded_checkpoint
    index = json.loads((folder / "model.safetensors.index.json").read_text())
    first = sorted(set(index["weight_map"].values()))[0]
    (folder / "real").mkdir()
    (folder / first).rename(folder / "real" / first)
    os.symlink(pathlib.Path("real") / first, folder / first)
    with TransformersCheckpoint(folder) as checkpoint:
        assert len(checkpoint.keys()) > 5


def test_hugging_face_cache_snapshots_may_link_into_their_blobs(sharded_checkpoint, tmp_path):
    # huggingface_hub's layout: snapshots/<revision>/<file> -> ../../blobs/<hash>
    repo = tmp_path / "models--org--bert"
    snapshot = repo / "snapshots" / "0123abcd"
    snapshot.mkdir(parents=True)
    (repo / "blobs").mkdir()
    for number, path in enumerate(sorted(sharded_checkpoint.iterdir())):
        blob = repo / "blobs" / f"blob{number}"
        blob.write_bytes(path.read_bytes())
        os.symlink(pathlib.Path("..", "..", "blobs", blob.name), snapshot / path.name)
    backbone = textbones.models.Backbone.from_preset(snapshot)
    assert backbone.num_layers == TINY_CONFIGS["bert"]["num_layers"]
    # ... but a link of the snapshot out of the repository is still refused.
    os.symlink(tmp_path / "sharded" / "config.json", repo / "blobs" / "elsewhere")
    key = _point_index_at(snapshot, "model.safetensors.index.json", "../../../secret.txt")
    expected = rf"'{key}' .* names '\.\./\.\./\.\./secret\.txt', which is outside"
    with pytest.raises(ValueError, match=expected):
        TransformersCheckpoint(snapshot)


@pytest.fixture
def sharded_keras_preset(tmp_path):
    model = make_tiny_backbone("albert")
    folder = tmp_path / "preset"
    model.save_to_preset(folder)
    (folder / "model.weights.h5").unlink()
    model.save_weights(folder / "model.weights.json", max_shard_size=0.00002)
    (tmp_path / "secret.txt").write_text(SECRET)
    return folder, model


@pytest.mark.parametrize("how", ["absolute", "dot-dot", "symlink-out"])
def test_sharded_keras_weights_must_stay_inside_the_preset(sharded_keras_preset, how):
    folder, _ = sharded_keras_preset
    shard_file = sorted(folder.glob("model_*.weights.h5"))[0]
    outside = folder.parent / "outside.weights.h5"
    shard_file.rename(outside)
    target = {
        "absolute": str(outside),
        "dot-dot": "../outside.weights.h5",
        "symlink-out": shard_file.name,
    }[how]
    if how == "symlink-out":
        os.symlink(outside, shard_file)
    index = json.loads((folder / "model.weights.json").read_text())
    for group, name in list(index["weight_map"].items()):
        if name == shard_file.name:
            index["weight_map"][group] = target
    (folder / "model.weights.json").write_text(json.dumps(index))
    expected = r"weight_map entry '/.*' of .*model\.weights\.json names .*which is outside"
    with pytest.raises(ValueError, match=expected):
        textbones.models.Backbone.from_preset(folder)


def test_sharded_keras_weights_load_exactly(sharded_keras_preset):
    folder, model = sharded_keras_preset
    assert len(list(folder.glob("model_*.weights.h5"))) > 1
    restored = textbones.models.Backbone.from_preset(folder)
    for ours, theirs in zip(restored.weights, model.weights, strict=True):
        np.testing.assert_array_equal(to_numpy(ours), to_numpy(theirs))


def test_h5_links_and_external_data_are_refused(tmp_path):
    model = make_tiny_backbone("f_net")
    model.save_to_preset(tmp_path / "p")
    (tmp_path / "outside.h5").write_bytes(b"")
    with h5py.File(tmp_path / "p" / "model.weights.h5", "a") as file:
        file["layers/dense/vars/extra"] = h5py.ExternalLink(str(tmp_path / "outside.h5"), "/data")
    expected = r"is not a plain Keras weights file: 'layers/dense/vars/extra' is a ExternalLink"
    with pytest.raises(ValueError, match=expected):
        textbones.models.Backbone.from_preset(tmp_path / "p")


@pytest.mark.parametrize("how", ["absolute", "dot-dot"])
def test_a_tokenizer_config_cannot_name_a_vocabulary_outside_the_preset(tmp_path, how):
    from textbones.tokenizers import BertTokenizer

    folder = tmp_path / "tok"
    vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hi"]
    BertTokenizer(vocabulary=vocabulary).save_to_preset(folder)
    (tmp_path / "secret.txt").write_text(SECRET)
    config = json.loads((folder / "tokenizer.json").read_text())
    outside = str(tmp_path / "secret.txt") if how == "absolute" else "../secret.txt"
    config["config"]["vocabulary"] = outside
    (folder / "tokenizer.json").write_text(json.dumps(config))
    expected = r"the 'vocabulary' of .*tokenizer\.json names '.*secret\.txt', which is outside"
    with pytest.raises(ValueError, match=expected) as error:
        textbones.tokenizers.Tokenizer.from_preset(folder)
    _assert_no_content(str(error.value))


# -- 1. errors never carry bytes of a file's content ---------------------------------------------


def _safetensors_with_header(path: pathlib.Path, header: bytes) -> None:
    path.write_bytes(struct.pack("<Q", len(header)) + header)


@pytest.mark.parametrize(
    "write",
    [
        pytest.param(lambda path: path.write_text(SECRET), id="password-file"),
        pytest.param(
            lambda path: _safetensors_with_header(path, SECRET.encode() + b"\xff"), id="not-utf8"
        ),
        pytest.param(lambda path: _safetensors_with_header(path, SECRET.encode()), id="not-json"),
        pytest.param(
            lambda path: _safetensors_with_header(
                path, b'{"w": {"dtype": "TOPSECRET", "shape": [1], "data_offsets": [0, 4]}}'
            ),
            id="unknown-dtype",
        ),
        pytest.param(
            lambda path: _safetensors_with_header(path, b'{"__metadata__": {"root:x": 12}}'),
            id="bad-metadata",
        ),
    ],
)
def test_safetensors_errors_never_echo_the_file(hf_checkpoint, tmp_path, write):
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "config.json").write_bytes((hf_checkpoint[0] / "config.json").read_bytes())
    write(folder / "model.safetensors")
    expected = r"model\.safetensors is not a readable safetensors file: "
    with pytest.raises(ValueError, match=expected) as error:
        textbones.models.Backbone.from_preset(folder)
    assert "download or save the checkpoint again" in str(error.value)
    _assert_no_content(str(error.value))


@pytest.mark.parametrize(
    "name", ["config.json", "model.weights.h5", "model.weights.json", "tokenizer.json"]
)
def test_keras_preset_errors_never_echo_the_file(tmp_path, name):
    folder = tmp_path / "p"
    make_tiny_backbone("bert").save_to_preset(folder)
    content = SECRET.encode() + b"\xff" if name.endswith(".json") else SECRET.encode()
    (folder / name).write_bytes(content)
    expected = (
        rf"{name} (is not valid JSON \(byte \d+ is not UTF-8\)"
        r"|is corrupt or incomplete \(it is not an HDF5 file\))"
    )
    with pytest.raises(ValueError, match=expected) as error:
        if name == "tokenizer.json":
            textbones.tokenizers.Tokenizer.from_preset(folder)
        else:
            textbones.models.Backbone.from_preset(folder)
    _assert_no_content(str(error.value))


# -- 1. the safetensors reader accepts exactly what the safetensors package accepts -------------


@pytest.mark.parametrize("name", sorted(CASES))
def test_safetensors_reader_agrees_with_the_package(tmp_path, name):
    content, accepted = CASES[name]
    path = tmp_path / f"{name}.safetensors"
    path.write_bytes(content)
    if not accepted:
        expected = rf"{name}\.safetensors is not a readable safetensors file: "
        with pytest.raises(ValueError, match=expected) as error:
            read_header(path)
        _assert_no_content(str(error.value))
        return
    entries = read_header(path)
    with open(path, "rb") as handle:
        for entry in entries.values():
            if entry.dtype is None:  # packed F4 / F6: listed, but not convertible
                expected = rf"as {entry.dtype_name}, a packed format textbones cannot read"
                with pytest.raises(ValueError, match=expected):
                    read_tensor(handle, entry)
                continue
            if max(entry.shape, default=0) >= 2**63:
                with pytest.raises(ValueError, match="a dimension larger than NumPy allows"):
                    read_tensor(handle, entry)
                continue
            array = read_tensor(handle, entry)
            assert array.shape == entry.shape and array.nbytes == entry.end - entry.start


def test_safetensors_values_are_read_at_their_offsets(tmp_path):
    content, _ = CASES["offsets_out_of_order"]
    path = tmp_path / "t.safetensors"
    path.write_bytes(content)
    entries = read_header(path)
    with open(path, "rb") as handle:
        assert read_tensor(handle, entries["a"]).tolist() == [0.0]
        assert read_tensor(handle, entries["b"]).tolist() == [1.0]
    content, _ = CASES["bfloat16"]
    path.write_bytes(content)
    with open(path, "rb") as handle:
        assert read_tensor(handle, read_header(path)["w"]).astype("float32").tolist() == [1.0, 2.0]


def _run_reference(*args: str, timeout: float = 600) -> dict:
    finished = subprocess.run(
        [str(reference_python()), str(HERE / "checkpoint_reference.py"), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "KERAS_BACKEND": "jax"},
    )
    if finished.returncode != 0:
        pytest.fail(f"checkpoint_reference.py {args[0]} failed:\n{finished.stderr[-4000:]}")
    return json.loads(finished.stdout.strip().splitlines()[-1])


@pytest.mark.parity
def test_pinned_verdicts_are_the_safetensors_package_s(tmp_path):
    for name, (content, _) in CASES.items():
        (tmp_path / name).write_bytes(content)
    verdicts = _run_reference("safetensors", str(tmp_path))
    assert verdicts == {name: accepted for name, (_, accepted) in CASES.items()}


# -- 5. a legacy (non-zip) pytorch_model.bin loads, still with weights_only ---------------------


@pytest.mark.parity
def test_legacy_pytorch_bin_loads_like_the_safetensors_it_came_from(hf_checkpoint, tmp_path):
    folder = tmp_path / "bert"
    folder.mkdir()
    for path in hf_checkpoint[0].iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    result = _run_reference("legacy-torch", str(folder))
    assert result["legacy"] is True
    assert result["located"] is True  # read tensor by tensor from the file, not whole
    assert result["read_twice_equal"] is True
    assert result["variables"] == len(hf_checkpoint[1].weights)
    assert result["max_difference"] == 0.0


@pytest.mark.parity
def test_legacy_pytorch_bin_tensors_are_read_from_their_place_in_the_file(tmp_path):
    result = _run_reference("legacy-layouts", str(tmp_path))
    kind, message = result.pop("truncated")
    assert kind == "ValueError" and "torch cannot read" in message
    assert "is damaged or is not a PyTorch checkpoint" in message
    dtypes = {name: case.pop("dtype") for name, case in result.items()}
    assert result == {name: {"located": True, "equal": True} for name in result}
    assert len(result) == 8
    assert dtypes["bfloat16"] == "bfloat16" and dtypes["float16"] == "float16"
    assert dtypes["int64"] == "int64" and dtypes["transposed"] == "float32"


@pytest.mark.parity
def test_pytorch_bin_errors_say_what_is_wrong_without_echoing_it(hf_checkpoint, tmp_path):
    folder = tmp_path / "bert"
    folder.mkdir()
    for path in hf_checkpoint[0].iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    errors = _run_reference("torch-errors", str(folder))
    kind, message = errors["secret_text"]
    assert kind == "ValueError" and "torch cannot read" in message and "(IndexError)" in message
    assert "is damaged or is not a PyTorch checkpoint" in message
    for case in ("zip_of_a_call", "legacy_of_a_call"):
        kind, message = errors[case]
        assert kind == "ValueError" and "holds Python objects other than tensors" in message
        assert "weights_only=True" in message and "getenv" not in message
    kind, message = errors["not_a_state_dict"]
    assert kind == "ValueError" and "holds a list, not a state dict of tensors" in message
    for kind_and_message in errors.values():
        _assert_no_content(kind_and_message[1])


# -- 6. Keras weights files stream into the variables, bit for bit as Keras loads them ---------


@pytest.mark.parametrize("family", families.family_names())
def test_streamed_backbone_equals_keras_load_weights(tmp_path, family):
    model = make_tiny_backbone(family, seed=3)
    model.save_to_preset(tmp_path / "p")
    ours = textbones.models.Backbone.from_preset(tmp_path / "p")
    theirs = backbone_class(family)(**TINY_CONFIGS[family])
    theirs.load_weights(tmp_path / "p" / "model.weights.h5")
    assert [v.path for v in ours.weights] == [v.path for v in theirs.weights]
    for a, b in zip(ours.weights, theirs.weights, strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(to_numpy(a), to_numpy(b))
    # A dtype override casts exactly as Keras' assign does.
    ours = textbones.models.Backbone.from_preset(tmp_path / "p", dtype="bfloat16")
    theirs = backbone_class(family)(**TINY_CONFIGS[family], dtype="bfloat16")
    theirs.load_weights(tmp_path / "p" / "model.weights.h5")
    for a, b in zip(ours.weights, theirs.weights, strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(to_numpy(a).view("uint16"), to_numpy(b).view("uint16"))


@pytest.mark.parametrize("family", families.family_names())
def test_streamed_task_head_equals_keras_load_weights_with_objects_to_skip(tmp_path, family):
    backbone = make_tiny_backbone(family, seed=5)
    classes = {name: families.family(name).tasks["classifier"] for name in families.family_names()}
    task = classes[family](backbone, num_classes=3, preprocessor=None)
    for variable in task.weights:
        variable.assign(np.random.default_rng(1).normal(size=variable.shape).astype(variable.dtype))
    task.save_to_preset(tmp_path / "p")
    path = tmp_path / "p" / "task.weights.h5"

    def fresh():
        keras.utils.set_random_seed(11)
        fresh_backbone = backbone_class(family)(**TINY_CONFIGS[family])
        return classes[family](fresh_backbone, num_classes=3, preprocessor=None)

    ours, theirs = fresh(), fresh()
    for model in (ours, theirs):
        skipped = list(model.backbone._flatten_layers()) + [model.optimizer]
        if model is ours:
            load_h5_weights(model, path, "task.json", objects_to_skip=skipped)
        else:
            keras.saving.load_weights(model, str(path), objects_to_skip=skipped)
    for a, b in zip(ours.weights, theirs.weights, strict=True):
        np.testing.assert_array_equal(to_numpy(a), to_numpy(b))
    # The head took the saved values; the skipped backbone kept its own.
    np.testing.assert_array_equal(to_numpy(ours.weights[-1]), to_numpy(task.weights[-1]))
    kept = to_numpy(ours.backbone.weights[0])
    assert not np.array_equal(kept, to_numpy(task.backbone.weights[0]))
    loaded = textbones.models.TextClassifier.from_preset(tmp_path / "p", preprocessor=None)
    for a, b in zip(loaded.weights, task.weights, strict=True):
        np.testing.assert_array_equal(to_numpy(a), to_numpy(b))


@pytest.fixture
def bert_preset(tmp_path):
    model = make_tiny_backbone("bert")
    model.save_to_preset(tmp_path / "bert")
    return tmp_path / "bert"


def _edit_config(folder: pathlib.Path, **changes) -> None:
    config = json.loads((folder / "config.json").read_text())
    config["config"].update(changes)
    (folder / "config.json").write_text(json.dumps(config))


def test_weights_that_do_not_cover_the_model_are_refused(bert_preset):
    _edit_config(bert_preset, num_layers=3)
    expected = (
        r"model\.weights\.h5 do not cover the BertBackbone described by config\.json: "
        r"\d+ of its \d+ variables have no entry, e\.g\. layers/transformer_encoder_2/"
    )
    with pytest.raises(ValueError, match=expected):
        textbones.models.Backbone.from_preset(bert_preset)


def test_weights_with_extra_entries_are_refused(bert_preset):
    _edit_config(bert_preset, num_layers=1)
    expected = (
        r"model\.weights\.h5 do not fit the BertBackbone described by config\.json: they "
        r"hold \d+ entries the model has no variable for, e\.g\. 'layers/transformer_encoder_1/"
    )
    with pytest.raises(ValueError, match=expected):
        textbones.models.Backbone.from_preset(bert_preset)


def test_weights_of_another_shape_are_refused(bert_preset):
    _edit_config(bert_preset, intermediate_dim=24)
    expected = (
        r"do not fit the BertBackbone described by config\.json: \d+ entries have another "
        r"shape than the model's variables, e\.g\. layers/.* has shape \(16, 32\), the "
        r"variable .* \(16, 24\)"
    )
    with pytest.raises(ValueError, match=expected):
        textbones.models.Backbone.from_preset(bert_preset)


def test_a_refused_file_changes_no_variable(bert_preset):
    model = make_tiny_backbone("bert", seed=9, num_layers=3)
    before = [to_numpy(v).copy() for v in model.weights]
    with pytest.raises(ValueError, match="do not cover"):
        load_h5_weights(model, bert_preset / "model.weights.h5", "config.json")
    for value, variable in zip(before, model.weights, strict=True):
        np.testing.assert_array_equal(value, to_numpy(variable))
    # A failed from_preset leaves no deferred variable behind for Keras to initialize later.
    _edit_config(bert_preset, num_layers=3)
    with pytest.raises(ValueError):
        textbones.models.Backbone.from_preset(bert_preset)
    from keras.src.backend.common import global_state

    assert not global_state.get_global_attribute("uninitialized_variables")


def test_deferred_loading_reads_each_dataset_once(bert_preset, monkeypatch):
    from textbones.presets import weights_file

    reads = []
    original = weights_file.WeightsFile.read

    def counting_read(self, entry):
        reads.append(entry)
        return original(self, entry)

    monkeypatch.setattr(weights_file.WeightsFile, "read", counting_read)
    backbone = textbones.models.Backbone.from_preset(bert_preset)
    assert len(reads) == len(set(reads)) == len(backbone.weights)
