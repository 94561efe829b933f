"""Issue 11, section 2: a save never overwrites or deletes what it did not write.

One test (or a few) per bullet: user folders are refused; no moment of a save leaves the path
empty and crashes are recovered; killed saves' folders are cleaned; links stay links; a
save leaves exactly the files of what was saved; the umask is followed; loads during saves
see one version. The kill and concurrency tests run ``save_worker.py`` in subprocesses with
the numpy backend (it imports fastest).
"""

import json
import os
import pathlib
import stat
import subprocess
import sys
import threading
import warnings

import numpy as np
import pytest

import textbones
from tests.conftest import make_tiny_backbone, to_numpy
from textbones.models import Backbone
from textbones.presets import atomic_directory, consistent_read, formats, loader
from textbones.presets.atomic_directory import SAVE_STEPS, staged_directory
from textbones.presets.consistent_read import PresetChangedError

REPO = pathlib.Path(__file__).resolve().parents[2]
WORKER = pathlib.Path(__file__).with_name("save_worker.py")
VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"w{index}" for index in range(92)]
BACKBONE_FILES = ["config.json", "metadata.json", "model.weights.h5"]


def tokenizer():
    return textbones.models.BertTokenizer(vocabulary=VOCABULARY)


def classifier(seed=1):
    preprocessor = textbones.models.BertTextClassifierPreprocessor(tokenizer(), sequence_length=8)
    return textbones.models.BertTextClassifier(
        make_tiny_backbone("bert", seed=seed), 3, preprocessor
    )


def files(folder) -> list[str]:
    """Every file and link under ``folder``, relative, sorted."""
    folder = pathlib.Path(folder)
    return sorted(
        str(path.relative_to(folder))
        for path in folder.rglob("*")
        if path.is_symlink() or not path.is_dir()
    )


def beside(target) -> list[str]:
    """Hidden entries a save keeps or leaves beside ``target`` (staging, previous, lock)."""
    target = pathlib.Path(target)
    return sorted(
        path.name for path in target.parent.iterdir() if path.name.startswith(f".{target.name}.")
    )


def same_weights(first, second) -> bool:
    return all(
        np.array_equal(to_numpy(a), to_numpy(b)) for a, b in zip(first.weights, second.weights)
    )


def run_worker(*arguments, timeout=300) -> dict:
    environment = {**os.environ, "KERAS_BACKEND": "numpy", "OPENBLAS_NUM_THREADS": "1"}
    environment.pop(atomic_directory.KILL_AT_VARIABLE, None)
    finished = subprocess.run(
        [sys.executable, str(WORKER), *map(str, arguments)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env=environment,
    )
    assert finished.returncode == 0, finished.stderr[-4000:]
    return json.loads(finished.stdout)


class Crash(BaseException):
    """Stands for the process dying at a step of a save (the kill test kills for real)."""


# 1. A folder of user files is refused ---------------------------------------------------------


@pytest.mark.parametrize(
    "save",
    [
        lambda folder: make_tiny_backbone("bert").save_to_preset(folder),
        lambda folder: make_tiny_backbone("bert").save_to_preset(folder, format="transformers"),
        lambda folder: tokenizer().save_to_preset(folder),
        lambda folder: classifier().save_to_preset(folder),
    ],
    ids=["backbone", "transformers", "tokenizer", "task"],
)
def test_a_folder_of_user_files_is_refused_and_left_untouched(tmp_path, save):
    project = tmp_path / "project"
    project.mkdir()
    (project / "config.json").write_text('{"name": "my-app", "debug": true}')
    (project / "notes.txt").write_text("mine")
    with pytest.raises(
        FileExistsError, match=r"holds other files \(config.json, notes.txt\), not a preset"
    ):
        save(project)
    assert (project / "config.json").read_text() == '{"name": "my-app", "debug": true}'
    assert files(project) == ["config.json", "notes.txt"]
    assert beside(project) == []
    empty = tmp_path / "empty"
    empty.mkdir()
    save(empty)  # an empty folder is fine, and so is a preset (every other test saves over one)
    assert "config.json" in files(empty) or "tokenizer.json" in files(empty)


# 2. No moment without a preset; crashes recovered; leftovers cleaned ---------------------------


def test_at_every_step_of_a_save_a_whole_preset_is_at_the_path(tmp_path, monkeypatch):
    target = tmp_path / "p"
    old, new = make_tiny_backbone("bert", seed=1), make_tiny_backbone("bert", seed=2)
    old.save_to_preset(target)
    seen = {}
    monkeypatch.setattr(
        atomic_directory, "_step", lambda step: seen.setdefault(step, files(target))
    )
    new.save_to_preset(target)
    if sys.platform.startswith("linux"):
        assert atomic_directory._exchange_function() is not None  # renameat2(RENAME_EXCHANGE)
        assert list(seen) == [step for step in SAVE_STEPS if step != "retired"]
    assert all(found == BACKBONE_FILES for found in seen.values()), seen
    assert same_weights(Backbone.from_preset(target), new)


def crash_between_the_renames(target, monkeypatch, model):
    """Leave what a save killed between its two renames leaves: only the hidden copy."""

    def step(name):
        if name == "retired":
            raise Crash(name)

    with monkeypatch.context() as patch:
        patch.setattr(atomic_directory, "_atomic_exchange", lambda first, second: False)
        patch.setattr(atomic_directory, "_step", step)
        with pytest.raises(Crash):
            model.save_to_preset(target)
    assert not target.exists()
    assert [name[: len(".p.previous-")] for name in beside(target)] == [".p.previous-"]


def test_a_load_brings_back_a_preset_left_in_its_hidden_copy(tmp_path, monkeypatch):
    target = tmp_path / "p"
    old = make_tiny_backbone("bert", seed=1)
    old.save_to_preset(target)
    crash_between_the_renames(target, monkeypatch, make_tiny_backbone("bert", seed=2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing surprising: no warning either
        loaded = Backbone.from_preset(target)
    assert same_weights(loaded, old)
    assert files(target) == BACKBONE_FILES and beside(target) == []


def test_the_next_save_brings_back_a_preset_left_in_its_hidden_copy(tmp_path, monkeypatch):
    target = tmp_path / "p"
    old = make_tiny_backbone("bert", seed=1)
    old.save_to_preset(target)
    crash_between_the_renames(target, monkeypatch, make_tiny_backbone("bert", seed=2))
    tokenizer().save_to_preset(target)  # a tokenizer beside the recovered backbone
    assert files(target) == ["assets/tokenizer/vocabulary.txt", *BACKBONE_FILES, "tokenizer.json"]
    assert same_weights(Backbone.from_preset(target), old) and beside(target) == []


def test_the_next_save_removes_what_killed_saves_left(tmp_path):
    target = tmp_path / "p"
    make_tiny_backbone("bert", seed=1).save_to_preset(target)
    for name in (
        ".p.staging-0123abcd",
        ".p.previous-89abcdef",
        ".q.staging-00000000",
        ".p.staging-mine",
    ):
        (tmp_path / name / "assets").mkdir(parents=True)
        (tmp_path / name / "model.weights.h5").write_bytes(b"\0" * 1000)
    (tmp_path / ".p.lock").write_text("")
    new = make_tiny_backbone("bert", seed=2)
    new.save_to_preset(target)
    # Only this target's folders, by their exact pattern; another target's and a user's stay.
    assert beside(target) == [".p.staging-mine"]
    assert (tmp_path / ".q.staging-00000000").is_dir()
    assert same_weights(Backbone.from_preset(target), new)


def test_a_save_waits_for_a_running_save_and_never_removes_its_staging_folder(tmp_path):
    target = tmp_path / "p"
    make_tiny_backbone("bert", seed=1).save_to_preset(target)
    inside, release, errors = threading.Event(), threading.Event(), []
    staging_of_first = []

    def first_save():
        try:
            with staged_directory(target, ["tokenizer"]) as staging:
                staging_of_first.append(staging)
                from textbones.presets.saver import _write_tokenizer_files

                _write_tokenizer_files(tokenizer(), staging)
                inside.set()
                release.wait(30)
        except BaseException as error:  # reported below
            errors.append(error)

    new = make_tiny_backbone("bert", seed=2)
    first = threading.Thread(target=first_save)
    first.start()
    assert inside.wait(30)
    second = threading.Thread(target=lambda: new.save_to_preset(target))
    second.start()
    second.join(0.5)
    assert second.is_alive()  # waiting for the lock
    assert staging_of_first[0].is_dir() and (staging_of_first[0] / "tokenizer.json").is_file()
    release.set()
    first.join(30)
    second.join(30)
    assert not errors and not second.is_alive()
    # The second save ran after the first: the first one's tokenizer stays beside the new backbone.
    assert "tokenizer.json" in files(target) and same_weights(Backbone.from_preset(target), new)
    assert beside(target) == []


# 3. Symbolic links ----------------------------------------------------------------------------


def test_links_inside_a_preset_stay_links_and_what_they_point_to_is_untouched(tmp_path):
    outside = tmp_path / "outside"
    (outside / "data").mkdir(parents=True)
    (outside / "data" / "big.bin").write_bytes(b"keep me")
    (outside / "README.md").write_text("shared readme")
    target = tmp_path / "p"
    make_tiny_backbone("bert", seed=1).save_to_preset(target)
    (target / "README.md").symlink_to(outside / "README.md")
    (target / "data").symlink_to("../outside/data")
    make_tiny_backbone("bert", seed=2).save_to_preset(target)
    assert os.readlink(target / "README.md") == str(outside / "README.md")
    assert (
        os.readlink(target / "data") == "../outside/data"
        and (target / "data" / "big.bin").read_bytes() == b"keep me"
    )
    classifier().save_to_preset(target)  # a whole: the links, files of no component, stay too
    assert (target / "README.md").is_symlink() and (target / "data").is_symlink()
    assert (outside / "README.md").read_text() == "shared readme" and files(outside) == [
        "README.md",
        "data/big.bin",
    ]


def test_saving_to_a_linked_path_updates_the_folder_it_points_to(tmp_path):
    real = tmp_path / "store" / "bert-v1"
    make_tiny_backbone("bert", seed=1).save_to_preset(real)
    link = tmp_path / "current"
    link.symlink_to(real)
    new = make_tiny_backbone("bert", seed=2)
    new.save_to_preset(link)
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert files(real) == BACKBONE_FILES and same_weights(Backbone.from_preset(real), new)
    assert beside(link) == [] and beside(real) == []


def test_a_linked_folder_a_save_would_write_into_is_refused(tmp_path):
    outside = tmp_path / "shared-assets"
    (outside / "tokenizer").mkdir(parents=True)
    (outside / "tokenizer" / "vocabulary.txt").write_text("theirs\n")
    target = tmp_path / "p"
    make_tiny_backbone("bert").save_to_preset(target)
    (target / "assets").symlink_to(outside)
    before = files(target)
    with pytest.raises(
        ValueError,
        match=r"its assets is a symbolic link \(to .*shared-assets\).*outside the preset",
    ):
        tokenizer().save_to_preset(target)
    assert (outside / "tokenizer" / "vocabulary.txt").read_text() == "theirs\n"
    assert files(target) == before and beside(target) == []


# 4. A save leaves exactly the files of what was saved -----------------------------------------


def test_a_backbone_saved_over_a_task_preset_leaves_only_the_backbone(tmp_path):
    target = tmp_path / "p"
    classifier().save_to_preset(target)
    (target / "README.md").write_text("my notes")
    (target / ".gitattributes").write_text("*.h5 filter=lfs")
    new = make_tiny_backbone("bert", seed=5, num_layers=1)
    new.save_to_preset(target)
    assert files(target) == [".gitattributes", "README.md", *BACKBONE_FILES]
    assert same_weights(Backbone.from_preset(target), new)
    with pytest.raises(FileNotFoundError, match="tokenizer.json"):
        textbones.tokenizers.Tokenizer.from_preset(target)


def test_components_saved_one_by_one_keep_each_other_and_drop_what_needs_the_replaced_one(tmp_path):
    target = tmp_path / "p"
    backbone = make_tiny_backbone("bert", seed=1)
    backbone.save_to_preset(target)
    textbones.models.BertTextClassifierPreprocessor(tokenizer(), sequence_length=8).save_to_preset(
        target
    )
    assert files(target) == [
        "assets/tokenizer/vocabulary.txt",
        *BACKBONE_FILES,
        "preprocessor.json",
        "tokenizer.json",
    ]
    smaller = textbones.models.BertTokenizer(vocabulary=VOCABULARY[:50])
    smaller.save_to_preset(target)  # the old preprocessor.json was made for the old tokenizer
    assert "preprocessor.json" not in files(target) and "model.weights.h5" in files(target)
    assert textbones.tokenizers.Tokenizer.from_preset(target).vocabulary_size() == 50
    new = make_tiny_backbone("bert", seed=2)
    new.save_to_preset(target)  # the tokenizer stays beside the new backbone
    assert textbones.tokenizers.Tokenizer.from_preset(target).vocabulary_size() == 50
    assert same_weights(Backbone.from_preset(target), new)


def test_a_transformers_export_replaces_a_keras_preset_but_keeps_user_files(tmp_path):
    target = tmp_path / "p"
    classifier().save_to_preset(target)
    (target / "README.md").write_text("model card")
    (target / "assets" / "images").mkdir()
    (target / "assets" / "images" / "logo.svg").write_text("<svg/>")
    make_tiny_backbone("bert").save_to_preset(target, format="transformers")
    assert files(target) == [
        "README.md",
        "assets/images/logo.svg",
        "config.json",
        "model.safetensors",
    ]
    tokenizer().save_to_preset(
        target, format="transformers"
    )  # beside the model, as in a hub repository
    assert files(target) == [
        "README.md",
        "assets/images/logo.svg",
        "config.json",
        "model.safetensors",
        "tokenizer_config.json",
        "vocab.txt",
    ]


def test_a_keras_save_over_a_transformers_checkpoint_leaves_only_keras_files(tmp_path):
    target = tmp_path / "p"
    classifier().save_to_preset(target, format="transformers")
    (target / "tokenizer.json").write_text(
        '{"version": "1.0", "model": {"type": "WordPiece"}}'
    )  # a fast tokenizer
    (target / "README.md").write_text("model card")
    tokenizer().save_to_preset(target)
    assert files(target) == ["README.md", "assets/tokenizer/vocabulary.txt", "tokenizer.json"]
    assert (
        json.loads((target / "tokenizer.json").read_text())["registered_name"]
        == "keras_hub>BertTokenizer"
    )


def test_the_transformers_export_has_no_file_list_of_its_own():
    from textbones.presets.transformers import exporting

    assert not hasattr(exporting, "_clear_stale_files") and not hasattr(
        exporting, "_STALE_MODEL_FILES"
    )


# 5. Modes follow the umask --------------------------------------------------------------------


@pytest.mark.parametrize(
    "umask, folder_mode, file_mode", [(0o022, 0o755, 0o644), (0o077, 0o700, 0o600)]
)
def test_saved_presets_follow_the_umask(tmp_path, umask, folder_mode, file_mode):
    previous = os.umask(umask)
    try:
        classifier().save_to_preset(tmp_path / "p")
        make_tiny_backbone("bert").save_to_preset(tmp_path / "hf", format="transformers")
    finally:
        os.umask(previous)
    for folder in (
        tmp_path / "p",
        tmp_path / "p" / "assets",
        tmp_path / "p" / "assets" / "tokenizer",
        tmp_path / "hf",
    ):
        assert stat.S_IMODE(folder.stat().st_mode) == folder_mode, folder
    for path in (
        tmp_path / "p" / "config.json",
        tmp_path / "p" / "model.weights.h5",
        tmp_path / "hf" / "model.safetensors",
    ):
        assert stat.S_IMODE(path.stat().st_mode) == file_mode, path


# 6. A load sees one version -------------------------------------------------------------------


def test_a_load_that_a_save_overtook_runs_again_and_sees_one_version(tmp_path, monkeypatch):
    target = tmp_path / "p"
    old = make_tiny_backbone("bert", seed=1, dropout=0.1)
    new = make_tiny_backbone("bert", seed=2, dropout=0.2)
    configs_read = []
    original = formats.read_json  # where the format is chosen, reading config.json once

    def read_then_save_after_the_first_config(folder, name):
        content = original(folder, name)
        configs_read.append(content["config"]["dropout"])
        if len(configs_read) == 1:
            new.save_to_preset(target)  # after this load read config.json, before its weights
        return content

    monkeypatch.setattr(formats, "read_json", read_then_save_after_the_first_config)
    old.save_to_preset(target)
    unprotected = loader.load_backbone.__wrapped__(Backbone, target)
    assert (unprotected.dropout, same_weights(unprotected, new)) == (
        0.1,
        True,
    )  # the mix it prevents

    old.save_to_preset(target)
    configs_read.clear()
    loaded = Backbone.from_preset(target)
    assert configs_read == [0.1, 0.2]  # one retry: the nested loaders are not wrapped again
    assert loaded.dropout == 0.2 and same_weights(loaded, new)
    assert beside(target) == []


def test_a_preset_that_keeps_changing_fails_clearly(tmp_path, monkeypatch):
    make_tiny_backbone("bert").save_to_preset(tmp_path / "p")
    monkeypatch.setattr(consistent_read._Watch, "changed", lambda self: True)
    monkeypatch.setattr(consistent_read.time, "sleep", lambda seconds: None)
    with pytest.raises(
        PresetChangedError, match=r"replaced by a save while it was being loaded, 4 times in a row"
    ):
        textbones.models.MaskedLM.from_preset(tmp_path / "p", preprocessor=None)


def test_loads_while_another_process_saves_each_see_one_version(tmp_path):
    report = run_worker("race", tmp_path, "--seconds", "5")
    errors = [load for load in report["loads"] if "error" in load]
    assert not errors
    assert len(report["loads"]) >= 3 and report["saves"] >= 3, report
    for load in report["loads"]:
        # Backbone config and weights, head weights and preprocessor all of the same save.
        assert len(set(load.values())) == 1 and load["config"] in ("A", "B"), load
    assert report["beside"] == []


# 7. Killed saves ------------------------------------------------------------------------------


def test_a_save_killed_at_any_moment_leaves_the_old_or_the_new_preset(tmp_path):
    report = run_worker("kill", tmp_path, "--random-kills", "24")
    attempts = report["attempts"]
    random_kills = [a for a in attempts if a["kind"] == "random" and a["outcome"] == "killed"]
    assert len(random_kills) >= 20
    steps = {(a["step"], a["exchange"]): a for a in attempts if a["kind"] == "step"}
    assert {step for (step, exchange), a in steps.items() if a["outcome"] == "killed"} == set(
        SAVE_STEPS
    )
    for attempt in attempts:
        after = attempt["after_kill"]
        old = "A" if attempt["saving"] == "B" else "B"
        assert after["version"] in (old, attempt["saving"]) and after["tokenizer"], attempt
        assert attempt["beside_after_next_save"] == [], attempt
    for (step, exchange), attempt in steps.items():
        if attempt["outcome"] == "killed":
            new_is_in_place = SAVE_STEPS.index(step) >= SAVE_STEPS.index("swapped")
            expected = (
                attempt["saving"] if new_is_in_place else ("A" if attempt["saving"] == "B" else "B")
            )
            assert attempt["after_kill"]["version"] == expected, attempt
    left = steps[("retired", False)]["after_kill"]["beside"]
    assert not any(".previous-" in name for name in left)  # the load brought the old one back
    assert report["final"]["version"] == report["final_saved"]
