"""Preset writes are atomic: an interrupted save leaves the previous preset intact."""

import os

import numpy as np
import pytest

import textbones
from tests.conftest import make_inputs, make_tiny_backbone, to_numpy
from textbones.presets.atomic_directory import staged_directory


def snapshot(folder):
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


@pytest.mark.parametrize("interruption", [KeyboardInterrupt, OSError])
def test_interrupted_save_keeps_the_old_preset(tmp_path, monkeypatch, interruption):
    old = make_tiny_backbone("bert", seed=1)
    old.save_to_preset(tmp_path / "p")
    before = snapshot(tmp_path / "p")
    new = make_tiny_backbone("bert", seed=2)

    original = type(new).save_weights

    def save_half_then_fail(self, filepath, *args, **kwargs):
        original(self, filepath, *args, **kwargs)
        with open(filepath, "r+b") as handle:
            handle.truncate(os.path.getsize(filepath) // 2)
        raise interruption("interrupted")

    monkeypatch.setattr(type(new), "save_weights", save_half_then_fail)
    with pytest.raises(interruption):
        new.save_to_preset(tmp_path / "p")
    assert snapshot(tmp_path / "p") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p"]  # no staging left
    inputs = make_inputs("bert")
    np.testing.assert_array_equal(
        to_numpy(textbones.models.Backbone.from_preset(tmp_path / "p")(inputs)["pooled_output"]),
        to_numpy(old(inputs)["pooled_output"]),
    )


def test_save_replaces_its_files_and_keeps_others(tmp_path):
    make_tiny_backbone("bert", seed=1).save_to_preset(tmp_path / "p")
    # A Keras tokenizer (it names a registered_name) is another component: it stays.
    tokenizer = '{"registered_name": "keras_hub>BertTokenizer", "kept": true}'
    (tmp_path / "p" / "tokenizer.json").write_text(tokenizer)
    linked_config = (tmp_path / "p" / "config.json").read_text()
    new = make_tiny_backbone("bert", seed=2, num_layers=1)
    new.save_to_preset(tmp_path / "p")
    assert (tmp_path / "p" / "tokenizer.json").read_text() == tokenizer
    assert textbones.models.Backbone.from_preset(tmp_path / "p").num_layers == 1
    assert linked_config != (tmp_path / "p" / "config.json").read_text()


def test_staging_never_writes_through_to_the_live_files(tmp_path):
    target = tmp_path / "p"
    target.mkdir()
    (target / "config.json").write_text('{"registered_name": "x"}')  # a preset, with a.txt
    (target / "a.txt").write_text("old")
    with pytest.raises(RuntimeError):
        with staged_directory(target) as staging:
            assert (staging / "a.txt").read_text() == "old"
            from textbones.presets.atomic_directory import replace_file

            replace_file(staging / "a.txt").write_text("new")
            raise RuntimeError("abandon")
    assert (target / "a.txt").read_text() == "old"


def test_saving_onto_a_file_is_refused(tmp_path):
    (tmp_path / "taken").write_text("x")
    with pytest.raises(FileExistsError, match="exists and is not a folder"):
        make_tiny_backbone("f_net").save_to_preset(tmp_path / "taken")


def test_unwritable_destination(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):  # root ignores permissions; use a path under a file instead
            target = tmp_path / "file" / "p"
            (tmp_path / "file").write_text("x")
        else:
            target = locked / "p"
        with pytest.raises(
            OSError, match="Cannot save a preset to .*Choose a directory you can write to"
        ):
            make_tiny_backbone("f_net").save_to_preset(target)
    finally:
        locked.chmod(0o700)
