"""The ``textbones`` command on DistilBERT: pretraining, fill-mask, presets, convert."""

import contextlib
import io
import json

from tests.helpers.tiny_corpus import CORPUS


def run_cli(*arguments):
    """Run ``textbones ARGUMENTS`` in this process; return (exit status, stdout, stderr)."""
    from textbones.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main([str(argument) for argument in arguments])
    return status, out.getvalue(), err.getvalue()


def test_pretrain_a_distil_bert_then_fill_mask_inspect_and_convert(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(CORPUS * 2) + "\n")
    status, _, err = run_cli(
        "pretrain", "--family", "distil_bert", "--corpus", corpus, "--epochs", "1",
        "--batch-size", "16", "--out", tmp_path / "mlm",
    )  # fmt: skip
    assert status == 0, err
    task = json.loads((tmp_path / "mlm" / "task.json").read_text())
    assert task["registered_name"] == "keras_hub>DistilBertMaskedLM"
    config = json.loads((tmp_path / "mlm" / "config.json").read_text())
    assert config["registered_name"] == "keras_hub>DistilBertBackbone"
    assert "num_segments" not in config["config"]

    status, out, err = run_cli("fill-mask", tmp_path / "mlm", "the [MASK] of the list.")
    assert status == 0, err
    assert len(out.strip().splitlines()) >= 5

    status, out, err = run_cli("inspect", tmp_path / "mlm", "--json")
    assert status == 0, err
    assert json.loads(out)["family"] == "distil_bert"

    status, _, err = run_cli("convert", tmp_path / "mlm", tmp_path / "hf", "--to", "transformers")
    assert status == 0, err
    hf_config = json.loads((tmp_path / "hf" / "config.json").read_text())
    assert hf_config["model_type"] == "distilbert"
    assert hf_config["architectures"] == ["DistilBertForMaskedLM"]


def test_presets_lists_the_built_ins_of_the_family():
    status, out, err = run_cli("presets", "--family", "distil_bert")
    assert status == 0, err
    for name in ("distil_bert_base_en_uncased", "distil_bert_base_en", "distil_bert_base_multi"):
        assert name in out
    assert "bert_tiny_en_uncased" not in out
