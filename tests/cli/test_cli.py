"""The ``textbones`` command on tiny settings: in this process through ``main`` (fast),
and as a real ``python -m textbones`` subprocess where the entry point itself matters."""

import contextlib
import io
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from tests.helpers.tiny_corpus import CORPUS, REPOSITORY


def run_cli(*arguments, cwd=None):
    """Run ``textbones ARGUMENTS`` in this process (offline: the suite isolates the hubs);
    return (exit status, stdout, stderr)."""
    from textbones.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main([str(argument) for argument in arguments])
    return status, out.getvalue(), err.getvalue()


def run_cli_process(*arguments, cwd=None):
    """Run ``python -m textbones ARGUMENTS`` offline; return (exit status, stdout, stderr)."""
    environment = {
        **os.environ,
        "KERAS_BACKEND": "jax",
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": str(REPOSITORY),
        "KAGGLEHUB_CACHE": str(pathlib.Path(cwd or REPOSITORY) / ".no-kaggle-cache"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "textbones", *map(str, arguments)],
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd,
        timeout=600,
    )
    return done.returncode, done.stdout, done.stderr


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    corpus = folder / "corpus.txt"
    corpus.write_text("\n".join(CORPUS * 2) + "\n")
    status, out, err = run_cli(
        "pretrain",
        "--corpus",
        corpus,
        "--epochs",
        "2",
        "--batch-size",
        "16",
        "--out",
        folder / "mlm",
        cwd=folder,
    )
    assert status == 0, err
    return folder / "mlm", out


def test_help_of_every_subcommand():
    status, out, _ = run_cli_process("--help")
    assert status == 0 and "pretrain" in out and "fill-mask" in out
    for command in (
        "presets",
        "inspect",
        "pretrain",
        "fill-mask",
        "classify",
        "ner",
        "embed",
        "search",
        "convert",
    ):
        status, out, _ = run_cli(command, "--help")
        assert status == 0 and f"usage: textbones {command}" in out


def test_usage_errors_exit_with_2():
    status, _, err = run_cli("train")
    assert status == 2 and "invalid choice: 'train'" in err
    status, _, err = run_cli("pretrain", "--out", "x", "--epochs", "0")
    assert status == 2 and "0 is not positive" in err


def test_presets_lists_the_built_in_table(tmp_path):
    status, out, _ = run_cli("presets", "--family", "f_net", cwd=tmp_path)
    lines = out.splitlines()
    assert status == 0
    assert lines[0].split() == ["name", "family", "parameters", "cached", "description"]
    assert lines[1].split()[:4] == ["f_net_base_en", "f_net", "82.86M", "no"]
    assert len(lines) == 3


def test_pretrain_then_use_what_it_wrote(pretrained, tmp_path):
    preset, log = pretrained
    assert "Held-out masked-token accuracy before training" in log and "after training" in log
    assert {"task.json", "task.weights.h5", "model.weights.h5", "tokenizer.json"} <= {
        p.name for p in preset.iterdir()
    }

    status, out, err = run_cli("fill-mask", preset, "the cat sat on the [MASK].", "--top-k", "3")
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0] == "[MASK] 1:" and len(lines) == 4
    probabilities = [float(line.split("%")[0]) for line in lines[1:]]
    assert (
        probabilities == sorted(probabilities, reverse=True) and 0 < sum(probabilities) <= 100.0001
    )

    status, out, err = run_cli("inspect", preset, "--json")
    info = json.loads(out)
    assert status == 0, err
    assert (info["family"], info["backbone"], info["task"]) == (
        "bert",
        "BertBackbone",
        "BertMaskedLM",
    )
    assert info["config"]["num_layers"] == 2 and info["config"]["hidden_dim"] == 128

    status, out, err = run_cli("embed", preset, "the cat", "a dog ran")
    vectors = np.array(json.loads(out))
    assert status == 0, err
    assert vectors.shape == (2, 128) and np.all(np.abs(vectors) <= 1.0)
    status, out, _ = run_cli("embed", preset, "the cat", "--output", tmp_path / "v.npy")
    assert status == 0 and np.load(tmp_path / "v.npy").shape == (1, 128)
    np.testing.assert_allclose(np.load(tmp_path / "v.npy")[0], vectors[0], atol=1e-5)


def test_classify_prints_a_json_line_per_text(tmp_path):
    import textbones

    tokenizer = textbones.models.BertTokenizer(
        vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad"]
    )
    backbone = textbones.models.BertBackbone(7, 1, 2, 8, 16, max_sequence_length=16)
    preprocessor = textbones.models.BertTextClassifierPreprocessor(tokenizer, sequence_length=16)
    classifier = textbones.models.BertTextClassifier(backbone, 3, preprocessor)
    classifier.save_to_preset(tmp_path / "clf")
    expected = classifier.predict(["good", "bad bad"], verbose=0)

    status, out, err = run_cli("classify", tmp_path / "clf", "good", "bad bad")
    assert status == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [row["text"] for row in rows] == ["good", "bad bad"]
    probabilities = np.array([row["probabilities"] for row in rows])
    softmax = np.exp(expected) / np.exp(expected).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(probabilities, softmax, atol=1e-5)
    assert [row["class"] for row in rows] == list(expected.argmax(axis=1))


def test_ner_prints_a_json_line_of_entities_per_text(tmp_path):
    import textbones

    tokenizer = textbones.models.BertTokenizer(
        vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "john", "in", "paris", "##ian"],
        lowercase=True,
    )
    backbone = textbones.models.BertBackbone(9, 1, 2, 8, 16, max_sequence_length=16)
    preprocessor = textbones.models.BertTokenClassifierPreprocessor(tokenizer, sequence_length=16)
    tagger = textbones.models.BertTokenClassifier(
        backbone, preprocessor=preprocessor, id2label=["O", "B-PER", "B-LOC", "I-LOC"]
    )
    tagger.save_to_preset(tmp_path / "ner")
    texts = ["John in Parisian", "paris"]
    for strategy in ("simple", "none", "max"):
        expected = tagger.predict_entities(texts, aggregation_strategy=strategy)
        status, out, err = run_cli(
            "ner", tmp_path / "ner", *texts, "--aggregation-strategy", strategy
        )
        assert status == 0, err
        rows = [json.loads(line) for line in out.splitlines()]
        assert rows == [{"text": t, "entities": e} for t, e in zip(texts, expected)]
    status, _, err = run_cli("ner", tmp_path / "ner", "x", "--aggregation-strategy", "longest")
    assert status == 2 and "invalid choice: 'longest'" in err
    status, _, err = run_cli("ner", tmp_path / "ner", "x", "--stride", "99")
    assert status == 1 and "`stride` must be an integer in [0, 14)" in err


def test_failures_are_one_line_with_exit_status_1(pretrained, tmp_path):
    preset, _ = pretrained
    cases = [
        (("inspect", tmp_path / "missing"), "does not exist"),
        (("fill-mask", preset, "no mask here"), "has no [MASK] to fill in"),
        (("classify", preset, "text"), "TextClassifier"),
        (("ner", preset, "text"), "not a token-classifier task preset"),
    ]
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    cases.append(
        (("pretrain", "--corpus", empty, "--out", tmp_path / "out"), "The corpus is empty")
    )
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(CORPUS))
    cases.append(
        (("pretrain", "--corpus", corpus, "--out", a_file / "sub"), "is a file, not a directory")
    )
    for arguments, expected in cases:
        status, out, err = run_cli(*arguments, cwd=tmp_path)
        assert status == 1, (arguments, out, err)
        assert err.count("\n") == 1 and err.startswith(f"textbones {arguments[0]}: error:"), err
        assert expected in err, err


def test_convert_to_transformers_and_back_keeps_the_predictions(pretrained, tmp_path):
    preset, _ = pretrained
    status, out, err = run_cli_process("convert", preset, tmp_path / "hf", "--to", "transformers")
    assert status == 0, err
    assert out.strip() == f"Wrote {tmp_path / 'hf'} (transformers format)."
    assert "The masked-LM head of this BertMaskedLM uses activation 'gelu'" in err
    written = {p.name for p in (tmp_path / "hf").iterdir()}
    assert {"config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json"} <= written
    assert "task.json" not in written
    config = json.loads((tmp_path / "hf" / "config.json").read_text())
    assert config["architectures"] == ["BertForMaskedLM"] and config["num_hidden_layers"] == 2

    status, _, err = run_cli("convert", tmp_path / "hf", tmp_path / "back")
    assert status == 0, err
    assert {"task.json", "task.weights.h5", "model.weights.h5"} <= {
        p.name for p in (tmp_path / "back").iterdir()
    }

    # The same top predictions from the original, the checkpoint and the preset converted
    # back. The scores agree to rounding only: a transformers config has one activation
    # and one layer-norm epsilon for the whole model, so the exported masked-LM head uses
    # the encoder's (the export warns about it).
    text = "the dog slept on the [MASK]."
    outputs = [
        run_cli("fill-mask", folder, text, "--top-k", "3")
        for folder in (preset, tmp_path / "hf", tmp_path / "back")
    ]
    assert all(status == 0 for status, _, _ in outputs), outputs
    rows = [[line.split() for line in out.splitlines()[1:]] for _, out, _ in outputs]
    assert rows[0] and [token for _, token in rows[0]] == [token for _, token in rows[1]] == [
        token for _, token in rows[2]
    ]
    scores = np.array([[float(score.rstrip("%")) for score, _ in row] for row in rows])
    np.testing.assert_allclose(scores[1], scores[0], atol=0.05)
    np.testing.assert_array_equal(scores[2], scores[1])


def test_qa_prints_a_json_line_per_answer(tmp_path):
    import textbones

    tokenizer = textbones.models.BertTokenizer(
        vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "who", "ran", "the", "fox"]
    )
    backbone = textbones.models.BertBackbone(9, 1, 2, 8, 16, max_sequence_length=16)
    preprocessor = textbones.models.BertQuestionAnswererPreprocessor(tokenizer, 16)
    model = textbones.models.BertQuestionAnswerer(backbone, preprocessor)
    model.save_to_preset(tmp_path / "qa")
    context = tmp_path / "context.txt"
    context.write_text("the fox ran", encoding="utf-8")
    expected = model.answer(["who ran", "the fox"], ["the fox ran"] * 2, top_k=2)

    status, out, err = run_cli(
        "qa", tmp_path / "qa", "--context", context, "--top-k", "2", "who ran", "the fox"
    )
    assert status == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [row["question"] for row in rows] == ["who ran"] * 2 + ["the fox"] * 2
    flat = [answer for answers in expected for answer in answers]
    assert [(r["answer"], r["start"], r["end"]) for r in rows] == [
        (a["answer"], a["start"], a["end"]) for a in flat
    ]
    np.testing.assert_allclose([r["score"] for r in rows], [a["score"] for a in flat], atol=1e-6)
    # A missing context file is refused in one line.
    status, _, err = run_cli("qa", tmp_path / "qa", "--context", tmp_path / "none.txt", "q")
    assert status == 1 and "Cannot read the context file" in err
