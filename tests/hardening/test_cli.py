"""Hardening of the ``textbones`` command and ``textbones.presets.convert`` (issue 11).

Each test calls ``textbones.cli.main.main`` in this process (a subprocess only for
Ctrl-C) and asserts the exit status, the one-line message, and that files the user owns
are left byte for byte as they were.
"""

import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import textbones
from tests.helpers.tiny_corpus import CORPUS, REPOSITORY
from textbones.cli.main import main
from textbones.presets.preset_kind import preset_kind

VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "good", "bad"]


def run_main(capsys, *arguments):
    """``main(ARGUMENTS)`` in process: (exit status, stdout, stderr). A failure must be
    exactly one line on stderr, starting with ``textbones COMMAND:``."""
    capsys.readouterr()
    status = main([str(argument) for argument in arguments])
    out, err = capsys.readouterr()
    if status != 0:
        assert err.count("\n") == 1 and err.endswith("\n"), err
        assert err.startswith(f"textbones {arguments[0]}: error:"), err
    return status, out, err


def snapshot(folder: pathlib.Path) -> dict[str, bytes | None]:
    """Every path under ``folder`` with its bytes (``None`` for a folder)."""
    return {
        str(path.relative_to(folder)): None if path.is_dir() else path.read_bytes()
        for path in sorted(folder.rglob("*"))
    }


def user_project(folder: pathlib.Path) -> pathlib.Path:
    """A folder of the user's own files, some named like preset files."""
    (folder / "assets").mkdir(parents=True)
    (folder / "config.json").write_text('{"project": "mine", "debug": true}\n')
    (folder / "metadata.json").write_text('{"author": "me"}\n')
    (folder / "assets" / "logo.svg").write_text("<svg/>\n")
    (folder / "notes.txt").write_bytes(b"my notes\n")
    return folder


@pytest.fixture(scope="module")
def presets(tmp_path_factory):
    """Tiny presets of every kind: masked LM, classifier, backbone, tokenizer only."""
    folder = tmp_path_factory.mktemp("presets")
    tokenizer = textbones.models.BertTokenizer(vocabulary=VOCABULARY)

    def backbone():
        return textbones.models.BertBackbone(len(VOCABULARY), 1, 2, 8, 16, max_sequence_length=16)

    mlm_preprocessor = textbones.models.BertMaskedLMPreprocessor(tokenizer, sequence_length=16)
    textbones.models.BertMaskedLM(backbone(), mlm_preprocessor).save_to_preset(folder / "mlm")
    preprocessor = textbones.models.BertTextClassifierPreprocessor(tokenizer, sequence_length=16)
    classifier = textbones.models.BertTextClassifier(backbone(), 3, preprocessor)
    classifier.save_to_preset(folder / "clf")
    backbone().save_to_preset(folder / "backbone")
    tokenizer.save_to_preset(folder / "backbone")
    tokenizer.save_to_preset(folder / "tokenizer")
    return folder


# 2. Data loss: pretrain --out and convert DST never write over what they did not write


def test_pretrain_refuses_a_folder_that_is_not_a_preset_before_training(
    capsys, tmp_path, monkeypatch
):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(CORPUS) + "\n")
    project = user_project(tmp_path / "project")
    before = snapshot(project)
    for extra in ([], ["--overwrite"]):  # --overwrite replaces presets only
        started = time.perf_counter()
        status, out, err = run_main(
            capsys, "pretrain", "--corpus", corpus, "--out", project, *extra
        )
        assert status == 1
        assert (
            f"Will not save the pretrained preset to {project}: it is a folder that holds "
            "other files (assets, config.json, metadata.json, notes.txt), not a preset" in err
        )
        assert out == "" and time.perf_counter() - started < 5  # refused before any training
        assert snapshot(project) == before
    # `--out .` inside the project, as in the issue.
    monkeypatch.chdir(project)
    status, _, err = run_main(capsys, "pretrain", "--corpus", corpus, "--out", ".")
    assert status == 1 and "not a preset" in err
    assert snapshot(project) == before


def test_pretrain_refuses_an_existing_preset_without_overwrite(capsys, presets, tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(CORPUS) + "\n")
    before = snapshot(presets / "mlm")
    status, out, err = run_main(capsys, "pretrain", "--corpus", corpus, "--out", presets / "mlm")
    assert status == 1 and out == ""
    assert "a preset is already there. Pass --overwrite to replace it" in err
    assert snapshot(presets / "mlm") == before


def test_convert_refuses_a_user_folder_in_both_formats(capsys, presets, tmp_path):
    project = user_project(tmp_path / "project")
    before = snapshot(project)
    for target_format in ("transformers", "keras"):
        for extra in ([], ["--overwrite"]):
            status, out, err = run_main(
                capsys, "convert", presets / "mlm", project, "--to", target_format, *extra
            )
            assert status == 1 and out == ""
            assert (
                f"Will not save the converted preset to {project}: it is a folder that "
                "holds other files" in err
            )
            assert snapshot(project) == before
    with pytest.raises(FileExistsError, match="not a preset"):
        textbones.presets.convert(presets / "mlm", project, overwrite=True)
    assert snapshot(project) == before


def test_convert_refuses_the_source_itself_through_any_path(capsys, presets, tmp_path):
    source = presets / "mlm"
    before = snapshot(source)
    link = tmp_path / "link-to-mlm"
    link.symlink_to(source)
    spellings = [source, link, f"{source}/../mlm", f"{source}/"]
    for destination in spellings:
        for extra in ([], ["--overwrite"], ["--to", "transformers", "--overwrite"]):
            status, out, err = run_main(capsys, "convert", source, destination, *extra)
            assert status == 1 and out == ""
            assert f"Will not convert {source} into itself" in err, err
    status, _, err = run_main(capsys, "convert", link, source, "--overwrite")
    assert status == 1 and "into itself" in err
    status, _, err = run_main(capsys, "convert", source, source / "inside")
    assert status == 1 and "a folder inside it" in err
    with pytest.raises(ValueError, match="into itself"):
        textbones.presets.convert(source, link, format="keras", overwrite=True)
    assert snapshot(source) == before and link.is_symlink()


def test_convert_replaces_a_preset_only_with_overwrite(capsys, presets, tmp_path):
    destination = tmp_path / "dst"
    textbones.models.FNetBackbone(50, 1, 8, 16).save_to_preset(destination)
    before = snapshot(destination)
    status, _, err = run_main(capsys, "convert", presets / "clf", destination)
    assert status == 1 and "a preset is already there. Pass --overwrite" in err
    assert snapshot(destination) == before
    with pytest.raises(FileExistsError, match="a preset is already there"):
        textbones.presets.convert(presets / "clf", destination)
    status, out, err = run_main(capsys, "convert", presets / "clf", destination, "--overwrite")
    assert status == 0, err
    assert out == f"Wrote {destination} (keras format).\n"
    task = json.loads((destination / "task.json").read_text())
    assert task["class_name"] == "BertTextClassifier"


# 3. The wrong kind of preset for a subcommand


@pytest.mark.parametrize(
    "command, preset, message",
    [
        (
            "fill-mask",
            "clf",
            "is a text-classifier task preset (BertTextClassifier), not a "
            "masked-LM task preset (a MaskedLM saved with its head), so `textbones fill-mask` "
            "can't use it (its head would be untrained, the predictions random). Use "
            "`textbones classify, embed or search` with it.",
        ),
        (
            "classify",
            "mlm",
            "is a masked-LM task preset (BertMaskedLM), not a text-classifier "
            "task preset (a TextClassifier saved with its head), so `textbones classify` can't "
            "use it (its head would be untrained, the predictions random). Use `textbones "
            "fill-mask, embed or search` with it.",
        ),
        (
            "fill-mask",
            "backbone",
            "is a backbone preset (BertBackbone, no task head), not a masked-LM task preset",
        ),
        (
            "classify",
            "backbone",
            "is a backbone preset (BertBackbone, no task head), not a text-classifier task preset",
        ),
        (
            "embed",
            "tokenizer",
            "is a tokenizer-only preset (no model), not a preset with a "
            "backbone, so `textbones embed` can't use it. `textbones inspect` shows what it "
            "holds.",
        ),
        ("fill-mask", "tokenizer", "is a tokenizer-only preset (no model)"),
    ],
)
def test_a_subcommand_names_the_kind_of_preset_and_the_one_that_fits(
    capsys, presets, command, preset, message
):
    text = "the [MASK] sat" if command == "fill-mask" else "good"
    status, out, err = run_main(capsys, command, presets / preset, text)
    assert status == 1 and out == ""
    assert f"error: {presets / preset} {message}" in err


def test_kind_checks_read_transformers_checkpoints_and_built_in_names(capsys, presets, tmp_path):
    textbones.presets.convert(presets / "clf", tmp_path / "hf-clf", format="transformers")
    status, _, err = run_main(capsys, "fill-mask", tmp_path / "hf-clf", "the [MASK]")
    assert status == 1
    assert "is a text-classifier task preset (BertForSequenceClassification)" in err
    status, out, err = run_main(capsys, "classify", tmp_path / "hf-clf", "good")
    assert status == 0, err
    assert len(json.loads(out)["probabilities"]) == 3
    # A built-in name is judged from the shipped registry: refused with no download tried.
    status, _, err = run_main(capsys, "fill-mask", "bert_tiny_en_uncased", "the [MASK]")
    assert status == 1
    assert "bert_tiny_en_uncased is a backbone preset (BertBackbone, no task head)" in err
    status, _, err = run_main(capsys, "fill-mask", "bert_tiny_en_uncased_sst2", "the [MASK]")
    assert status == 1 and "is a text-classifier task preset (BertTextClassifier)" in err


def test_a_task_class_textbones_does_not_know_is_named(capsys, presets, tmp_path):
    preset = tmp_path / "odd"
    shutil.copytree(presets / "mlm", preset)
    task = json.loads((preset / "task.json").read_text())
    task["registered_name"] = "keras_hub>BertSpanExtractor"
    (preset / "task.json").write_text(json.dumps(task))
    status, _, err = run_main(capsys, "fill-mask", preset, "the [MASK]")
    assert status == 1
    assert "is a task preset of class BertSpanExtractor, which textbones does not implement" in err
    assert "`textbones embed` and `textbones search` can still use its backbone" in err
    with pytest.raises(ValueError, match="BertSpanExtractor, which textbones does not implement"):
        textbones.presets.convert(preset, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_the_right_kinds_still_work(capsys, presets):
    status, out, err = run_main(
        capsys, "fill-mask", presets / "mlm", "the [MASK] sat", "--top-k", "2"
    )
    assert status == 0, err
    assert out.splitlines()[0] == "[MASK] 1:" and len(out.splitlines()) == 3
    for preset in ("mlm", "clf", "backbone"):
        status, out, err = run_main(capsys, "embed", presets / preset, "the cat")
        assert status == 0, err
        assert np.array(json.loads(out)).shape == (1, 8)


# 3. Pretraining: numbers checked at parse, a diverging run saves nothing, text corpora only


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("--learning-rate", "nan", "'nan' is not a finite number above 0"),
        ("--learning-rate", "inf", "'inf' is not a finite number above 0"),
        ("--learning-rate", "-1e-3", "'-1e-3' is not a finite number above 0"),
        ("--learning-rate", "0", "'0' is not a finite number above 0"),
        ("--learning-rate", "fast", "'fast' is not a finite number above 0"),
        ("--epochs", "0", "0 is not positive"),
        ("--batch-size", "-4", "-4 is not positive"),
        ("--max-sentences", "2.5", "'2.5' is not a whole number"),
    ],
)
def test_pretrain_numbers_are_checked_at_parse(capsys, tmp_path, option, value, message):
    status, out, err = run_main(capsys, "pretrain", "--out", tmp_path / "out", f"{option}={value}")
    assert status == 2 and out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"textbones pretrain: error: argument {option}: {message}"), err
    assert not (tmp_path / "out").exists()


def test_pretrain_function_checks_its_numbers_too(tmp_path):
    from textbones.cli.pretrain import pretrain

    with pytest.raises(ValueError, match="learning rate must be a finite number above 0, not nan"):
        pretrain(tmp_path / "out", corpus=CORPUS, learning_rate=float("nan"))
    with pytest.raises(ValueError, match="epochs must be a whole number of at least 1, not 0"):
        pretrain(tmp_path / "out", corpus=CORPUS, epochs=0)
    assert not (tmp_path / "out").exists()


def test_a_diverging_pretraining_stops_and_saves_nothing(capsys, presets, tmp_path):
    """A learning rate that passes the parse but blows the weights up: the run stops at
    the first non-finite loss, exits 1, and leaves the preset it was to replace as it was."""
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(CORPUS) + "\n")
    target = tmp_path / "previous"
    shutil.copytree(presets / "mlm", target)
    before = snapshot(target)
    status, out, err = run_main(
        capsys,
        "pretrain",
        "--corpus",
        corpus,
        "--out",
        target,
        "--overwrite",
        "--epochs",
        "3",
        "--batch-size",
        "16",
        "--max-sentences",
        "60",
        "--learning-rate",
        "1e30",
    )
    assert status == 1, err
    assert "Training a bert tiny masked LM" in out  # --overwrite let it train
    assert "error: Training stopped at epoch 1, step " in err
    assert (
        "the loss became nan (the learning rate 1e+30 is too high for this model), so "
        f"nothing was saved to {target}. Try a smaller learning rate (--learning-rate" in err
    )
    assert "Epoch 2/" not in out  # stopped in the first epoch
    assert snapshot(target) == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["corpus.txt", "previous"]


def test_pretrain_refuses_corpora_that_are_not_text(capsys, tmp_path):
    random_bytes = tmp_path / "random.bin"  # no NUL, but not UTF-8
    random_bytes.write_bytes(bytes(np.random.default_rng(0).integers(1, 256, 4096, dtype=np.uint8)))
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("the caf\u00e9 is open.\n".encode("latin-1") * 3)
    blank = tmp_path / "blank.txt"
    blank.write_text("\n  \n\n")
    good = tmp_path / "good.txt"
    good.write_text("\n".join(CORPUS) + "\n")
    cases = [
        ("/bin/ls", "Corpus file /bin/ls is not text: line 1 holds a NUL byte (a binary file?)"),
        (random_bytes, f"Corpus file {random_bytes} is not UTF-8 text: line "),
        (
            latin1,
            f"Corpus file {latin1} is not UTF-8 text: line 1 holds a byte UTF-8 does not "
            "allow (column 8). Convert the file to UTF-8 first",
        ),
        (
            tmp_path,
            f"Corpus path {tmp_path} is a folder, not a file: --corpus takes text files. "
            f"Name the files inside it (e.g. --corpus {tmp_path / '*.txt'}).",
        ),
        ("/dev/null", "The corpus is empty: /dev/null holds no text (it is empty or only blank"),
        (blank, f"The corpus is empty: {blank} holds no text"),
        (tmp_path / "missing.txt", f"Corpus file {tmp_path / 'missing.txt'} does not exist."),
    ]
    for path, message in cases:
        status, out, err = run_main(
            capsys, "pretrain", "--corpus", good, path, "--out", tmp_path / "o"
        )
        assert status == 1 and out == "", (path, err)
        assert f"error: {message}" in err, err
        assert "caf" not in err and "ELF" not in err  # nothing of the file is echoed
    assert not (tmp_path / "o").exists()


def test_a_corpus_may_come_through_a_pipe(tmp_path):
    from textbones.cli.corpus import read_corpus_files

    reading, writing = os.pipe()
    with os.fdopen(writing, "w") as pipe:
        pipe.write("\ufeffone line\r\n\r\nanother line\n")
    try:
        assert read_corpus_files([f"/dev/fd/{reading}"]) == ["one line", "another line"]
    finally:
        os.close(reading)


# 3. embed --output: the path written is the path reported; nothing of the user's replaced


def test_embed_output_refuses_a_folder_and_existing_files(capsys, presets, tmp_path):
    folder = tmp_path / "vectors"
    folder.mkdir()
    (folder / "mine.txt").write_text("mine")
    backbone = presets / "backbone"
    status, out, err = run_main(capsys, "embed", backbone, "the cat", "--output", folder)
    assert status == 1 and out == ""
    suggested = folder / "vectors.npy"
    assert f"--output {folder} is a folder; give a file path such as {suggested}" in err
    assert not (tmp_path / "vectors.npy").exists() and snapshot(folder) == {"mine.txt": b"mine"}

    existing = tmp_path / "old.npy"
    existing.write_bytes(b"not written by textbones")
    for given in (existing, tmp_path / "old"):  # '.npy' is added to a path without it
        status, _, err = run_main(capsys, "embed", backbone, "the cat", "--output", given)
        assert status == 1
        assert f"--output {existing} already exists. Pass --overwrite to replace it" in err
        assert existing.read_bytes() == b"not written by textbones"

    status, out, err = run_main(
        capsys,
        "embed",
        presets / "backbone",
        "the cat",
        "a",
        "--output",
        tmp_path / "old",
        "--overwrite",
    )
    assert status == 0, err
    assert out == f"Saved 2 vectors of size 8 to {existing}\n"
    assert np.load(existing).shape == (2, 8)
    status, out, err = run_main(capsys, "embed", backbone, "cat", "--output", tmp_path / "new")
    assert status == 0 and out == f"Saved 1 vectors of size 8 to {tmp_path / 'new.npy'}\n"
    assert np.load(tmp_path / "new.npy").shape == (1, 8)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.npy", "old.npy", "vectors"]


# 4. Ctrl-C during pretrain


@pytest.mark.parametrize(
    "moment",
    # While XLA compiles the first step (the process used to segfault at exit), and
    # between steps (where the interrupt used to be lost inside NumPy/JAX and training
    # went on to save a preset with exit status 0).
    ["Training a bert tiny masked LM", "Epoch 2/"],
)
def test_ctrl_c_during_pretrain_exits_130_and_leaves_nothing(tmp_path, moment):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(CORPUS) + "\n")
    environment = {
        **os.environ,
        "KERAS_BACKEND": "jax",
        "PYTHONPATH": str(REPOSITORY),
        "PYTHONUNBUFFERED": "1",
    }
    environment.pop("TEXTBONES_DEBUG", None)
    # `python -m textbones`, with Ctrl-C as a terminal delivers it even if this test runs
    # where SIGINT is ignored (a background job; the command keeps an ignored SIGINT ignored).
    launcher = (
        "import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
        "runpy.run_module('textbones', run_name='__main__', alter_sys=True)"
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            launcher,
            "pretrain",
            "--corpus",
            corpus,
            "--out",
            tmp_path / "out",
            "--epochs",
            "1000",
            "--batch-size",
            "16",
            "--max-sentences",
            "48",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment,
        text=True,
    )
    try:
        for line in process.stdout:
            if line.startswith(moment):
                break
        time.sleep(0.5)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 130, (process.returncode, err[-2000:])
    expected = f"textbones pretrain: interrupted; nothing was saved to {tmp_path / 'out'}.\n"
    assert err == expected, err
    assert "Epoch 1000/1000" not in out
    assert sorted(path.name for path in tmp_path.iterdir()) == ["corpus.txt"]


@pytest.fixture
def sigint_not_ignored():
    """Python's own SIGINT handler for the test: a process started in the background by a
    non-interactive shell (``nohup ... &``) inherits an ignored SIGINT, which
    ``catching_interrupts`` rightly keeps ignored."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


@pytest.mark.usefixtures("sigint_not_ignored")
def test_the_interrupt_record_is_scoped_to_the_command():
    from textbones.cli import interrupts

    before = signal.getsignal(signal.SIGINT)
    with interrupts.catching_interrupts():
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
        assert interrupts.requested()
        with pytest.raises(KeyboardInterrupt):  # asked again where stopping is safe
            interrupts.raise_if_requested()
    assert not interrupts.requested() and signal.getsignal(signal.SIGINT) is before


@pytest.mark.usefixtures("sigint_not_ignored")
def test_a_ctrl_c_lost_in_a_finalizer_is_not_reported_twice(capsys):
    from textbones.cli import interrupts

    class Finalized:
        def __del__(self):
            signal.raise_signal(signal.SIGINT)  # lands here, where it can't propagate

    hook = sys.unraisablehook
    with interrupts.catching_interrupts():
        Finalized()
        assert interrupts.requested()
    assert capsys.readouterr().err == "" and sys.unraisablehook is hook


# 5. inspect / presets of built-in names need no download


def test_inspect_a_built_in_name_offline(capsys):
    status, out, err = run_main(capsys, "inspect", "bert_tiny_en_uncased_sst2", "--json")
    assert status == 0, err
    info = json.loads(out)
    assert info["downloaded"] is False and info["files"] == []
    described = (info["family"], info["backbone"], info["task"])
    assert described == ("bert", "BertBackbone", "BertTextClassifier")
    assert info["parameters"] == 4385920 and info["config"]["num_layers"] == 2
    assert info["kind"] == "a text-classifier task preset (BertTextClassifier)"
    status, out, err = run_main(capsys, "inspect", "albert_base_en_uncased")
    assert status == 0, err
    assert "parameters  11,683,584" in out
    assert "files       not downloaded (from_preset fetches them from kaggle://keras/albert/" in out
    status, out, _ = run_main(capsys, "presets", "--family", "albert")
    assert status == 0
    assert out.splitlines()[1].split()[:4] == ["albert_base_en_uncased", "albert", "11.68M", "no"]


def test_inspect_describes_every_kind(capsys, presets):
    expected = {
        "mlm": "a masked-LM task preset (BertMaskedLM)",
        "clf": "a text-classifier task preset (BertTextClassifier)",
        "backbone": "a backbone preset (BertBackbone, no task head)",
        "tokenizer": "a tokenizer-only preset (no model)",
    }
    for name, kind in expected.items():
        status, out, err = run_main(capsys, "inspect", presets / name, "--json")
        assert status == 0, err
        info = json.loads(out)
        assert info["kind"] == kind and info["downloaded"] is True
        assert (info["parameters"] is None) == (name == "tokenizer")


# 7. Usage errors are one line with status 2; failures one line with status 1


def test_usage_errors_are_one_line_with_status_2(capsys):
    for arguments, message in [
        (["train"], "textbones: error: argument COMMAND: invalid choice: 'train'"),
        ([], "textbones: error: the following arguments are required: COMMAND"),
        (
            ["convert", "only-one"],
            "textbones convert: error: the following arguments are required: destination",
        ),
        (["embed", "p", "t", "--bogus"], "textbones: error: unrecognized arguments: --bogus"),
    ]:
        capsys.readouterr()
        assert main(arguments) == 2
        out, err = capsys.readouterr()
        assert out == "" and err.count("\n") == 1 and err.startswith(message), err
        assert "--help`)" in err


def test_convert_keeps_a_backbone_and_its_tokenizer_in_both_formats(presets, tmp_path):
    for target_format in ("transformers", "keras"):
        destination = tmp_path / target_format
        written = textbones.presets.convert(presets / "backbone", destination, format=target_format)
        assert written == "BertBackbone"
        kind = preset_kind(destination)
        assert (kind.task, kind.backbone_class, kind.has_tokenizer) == (None, "BertBackbone", True)
        tokenizer = textbones.tokenizers.Tokenizer.from_preset(destination)
        assert tokenizer.vocabulary_size() == len(VOCABULARY)
