"""The code examples of the user's reference pages (backbones, AlbertMaskedLM) run against
textbones.

They run as written, for the families the pages name, and with the page's class names
replaced by every registered family's (see the end of this module).

The pages live in ``../shared/spec/seeds`` beside the repository. Examples that need a
built-in preset's weights are run twice: offline as written (they must fail with the
clear download error), and with a locally built preset substituted for the name.
"""

import pathlib
import subprocess
import sys

import keras
import numpy as np
import pytest

import textbones
from tests.conftest import perturb_weights, to_numpy
from tests.helpers import families
from tests.helpers.sentence_piece import tiny_proto
from textbones.presets.handles import PresetDownloadError

SEEDS = pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "spec" / "seeds"
BACKBONE_PAGES = {
    "000_bbb90a097a98666b.txt": ("BertBackbone", "bert_base_en_uncased", 256),
    "001_57f943c63ffcb07a.txt": ("BertBackbone", "bert_base_en_uncased", 256),
    "002_ab2db9fa021fa85e.txt": ("BertBackbone", "bert_base_en_uncased", 256),
    "003_d3ad56dca90e25b6.txt": ("FNetBackbone", "f_net_base_en", 256),
}


def page(name: str) -> str:
    path = SEEDS / name
    if not path.is_file():
        pytest.fail(
            f"The reference page {path} is missing: "
            "these tests need ../shared beside the repository."
        )
    return path.read_text(encoding="utf-8")


def example_block(text: str) -> tuple[str, str, str]:
    """The page's example, split into (input data, pretrained stanza, custom-config stanza)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "input_data = {")
    calls = [i for i, line in enumerate(lines) if line.strip() == "model(input_data)" and i > start]
    block = lines[start : calls[1] + 1]
    pretrained = next(i for i, line in enumerate(block) if line.strip().startswith("# Pretrained"))
    custom = next(
        i for i, line in enumerate(block) if line.strip().startswith("# Randomly initialized")
    )
    return (
        "\n".join(block[:pretrained]),
        "\n".join(block[pretrained:custom]),
        "\n".join(block[custom:]),
    )


def run(code: str, namespace: dict | None = None) -> dict:
    namespace = namespace if namespace is not None else {}
    namespace.update({"keras_nlp": textbones, "keras_hub": textbones, "np": np})
    exec(compile(code, "<seed example>", "exec"), namespace)
    return namespace


@pytest.mark.parametrize("name", sorted(BACKBONE_PAGES))
def test_custom_config_example_runs_verbatim(name):
    data, _, custom = example_block(page(name))
    namespace = run(data + "\n" + custom + "\noutputs = model(input_data)\n")
    class_name, _, hidden = BACKBONE_PAGES[name]
    assert type(namespace["model"]).__name__ == class_name
    assert tuple(namespace["outputs"]["sequence_output"].shape) == (1, 12, hidden)
    assert tuple(namespace["outputs"]["pooled_output"].shape) == (1, hidden)
    assert np.isfinite(to_numpy(namespace["outputs"]["sequence_output"])).all()


@pytest.mark.parametrize("name", sorted(BACKBONE_PAGES))
def test_pretrained_example_offline_fails_clearly(name):
    data, pretrained, _ = example_block(page(name))
    preset = BACKBONE_PAGES[name][1]
    assert f'"{preset}"' in pretrained
    with pytest.raises(
        PresetDownloadError, match=f"Could not download the built-in preset '{preset}'"
    ):
        run(data + "\n" + pretrained)


@pytest.mark.parametrize("name", ["000_bbb90a097a98666b.txt", "003_d3ad56dca90e25b6.txt"])
def test_pretrained_example_with_a_local_preset(name, tmp_path):
    data, pretrained, _ = example_block(page(name))
    class_name, preset, _ = BACKBONE_PAGES[name]
    cls = getattr(textbones.models, class_name)
    small = dict(
        vocabulary_size=40, num_layers=1, hidden_dim=8, intermediate_dim=16, max_sequence_length=16
    )
    if class_name == "BertBackbone":
        small["num_heads"] = 2
    local = cls(**small)
    perturb_weights(local)
    local.save_to_preset(tmp_path / preset)
    namespace = run(
        data
        + "\n"
        + pretrained.replace(f'"{preset}"', repr(str(tmp_path / preset)))
        + "\nout = model(input_data)"
    )
    expected = local(namespace["input_data"])["pooled_output"]
    np.testing.assert_array_equal(to_numpy(namespace["out"]["pooled_output"]), to_numpy(expected))


def test_from_preset_method_examples():
    text = page("001_57f943c63ffcb07a.txt")
    start = text.index("# Load a Gemma backbone")
    end = text.index("load_weights=False,\n)", start) + len("load_weights=False,\n)")
    gemma, bert = text[start:end].split("# Load a Bert backbone")
    with pytest.raises(ValueError, match="Unknown preset 'gemma_2b_en'"):
        run(gemma)
    namespace = run("# Load a Bert backbone" + bert)
    assert namespace["model"].count_params() == 108310272


@pytest.mark.parametrize("name", ["000_bbb90a097a98666b.txt", "003_d3ad56dca90e25b6.txt"])
def test_custom_config_example_with_python_dash_c(name):
    """As a user would paste it: ``python -c "import textbones as keras_nlp, numpy as np; ..."``."""
    data, _, custom = example_block(page(name))
    code = (
        "import textbones as keras_nlp, numpy as np\n"
        + data
        + "\n"
        + custom
        + "\nout = model(input_data)\n"
        "print(tuple(out['sequence_output'].shape), tuple(out['pooled_output'].shape))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "(1, 12, 256) (1, 256)"
    assert "Traceback" not in result.stderr


# The AlbertMaskedLM page (004): raw-string fit, preprocessed fit, Task.from_preset. ---------

ALBERT_PAGE = "004_988ff3b69d4c968a.txt"


def code_between(text: str, first: str, last: str, occurrence_of_last: int = 1) -> str:
    """The page's lines from the one starting with ``first`` through the ``occurrence_of_last``-th
    line after it that reads ``last``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith(first))
    ends = [i for i, line in enumerate(lines) if i > start and line.strip() == last]
    return "\n".join(lines[start : ends[occurrence_of_last - 1] + 1])


def albert_page_examples() -> dict[str, str]:
    text = page(ALBERT_PAGE)
    return {
        "raw": code_between(
            text,
            'features = ["The quick brown fox jumped."',
            "masked_lm.fit(x=features, batch_size=2)",
            2,
        ),
        "preprocessed": code_between(
            text, "# Create preprocessed batch", "masked_lm.fit(x=features, y=labels, batch_size=2)"
        ),
        "from_preset": code_between(text, "# Load a Gemma generative task.", ")", 2),
    }


def run_page(code: str) -> dict:
    """Run page code as a user would after ``import keras``, ``import numpy as np`` and
    ``import textbones as keras_nlp``."""
    return run(code, {"keras": keras})


@pytest.fixture(scope="module")
def albert_preset(tmp_path_factory) -> pathlib.Path:
    """A tiny ALBERT masked LM saved as a preset, with a SentencePiece vocabulary trained here.

    Its preprocessor selects half the tokens, so that even the page's two short sentences
    surely get masked tokens (and the head a gradient) in every ``fit``.
    """
    keras.utils.set_random_seed(0)
    tokenizer = textbones.models.AlbertTokenizer(proto=tiny_proto("albert"))
    assert tokenizer.vocabulary_size() > 8  # the preprocessed example uses ids up to 8
    backbone = textbones.models.AlbertBackbone(
        vocabulary_size=tokenizer.vocabulary_size(),
        num_layers=2,
        num_heads=2,
        embedding_dim=8,
        hidden_dim=16,
        intermediate_dim=32,
        num_groups=1,
        max_sequence_length=32,
    )
    preprocessor = textbones.models.AlbertMaskedLMPreprocessor(
        tokenizer, sequence_length=32, mask_selection_rate=0.5, mask_selection_length=8
    )
    folder = tmp_path_factory.mktemp("presets") / "albert"
    textbones.models.AlbertMaskedLM(backbone, preprocessor=preprocessor).save_to_preset(folder)
    return folder


def local_bert_preset(folder: pathlib.Path) -> pathlib.Path:
    """A tiny BERT backbone and tokenizer saved as a preset (no task), as the built-in ones are."""
    vocabulary = [
        "[PAD]",
        "[UNK]",
        "[CLS]",
        "[SEP]",
        "[MASK]",
    ] + "the quick brown fox jumped . i forgot my homework".split()
    backbone = textbones.models.BertBackbone(
        vocabulary_size=len(vocabulary),
        num_layers=1,
        num_heads=2,
        hidden_dim=8,
        intermediate_dim=16,
        max_sequence_length=16,
    )
    backbone.save_to_preset(folder)
    textbones.models.BertTokenizer(vocabulary=vocabulary, lowercase=True).save_to_preset(folder)
    return folder


def weights_by_id(variables) -> dict[int, np.ndarray]:
    return {id(variable): to_numpy(variable).copy() for variable in variables}


def test_albert_page_examples_are_all_found():
    examples = albert_page_examples()
    assert examples["raw"].count("masked_lm.fit(x=features, batch_size=2)") == 2
    assert (
        "jit_compile=True" in examples["raw"]
        and "masked_lm.backbone.trainable = False" in examples["raw"]
    )
    assert '"mask_positions": np.array([[2, 4]] * 2)' in examples["preprocessed"]
    assert "preprocessor=None" in examples["preprocessed"]
    assert examples["from_preset"].count("from_preset(") == 2 and examples["from_preset"].endswith(
        ")"
    )


@pytest.mark.parametrize("example", ["raw", "preprocessed"])
def test_albert_masked_lm_examples_offline_fail_clearly(example):
    code = albert_page_examples()[example]
    assert '"albert_base_en_uncased"' in code
    with pytest.raises(
        PresetDownloadError, match="Could not download the built-in preset 'albert_base_en_uncased'"
    ):
        run_page(code)


def test_albert_masked_lm_raw_string_example_with_a_local_preset(albert_preset):
    """Fit, re-compile with ``jit_compile=True``, freeze the backbone, fit again: the second
    fit trains the head alone."""
    code = albert_page_examples()["raw"].replace(
        '"albert_base_en_uncased"', repr(str(albert_preset))
    )
    first_fit, refit = code.index("masked_lm.fit("), code.index("# Re-compile")
    load, first_fit, refit = code[:first_fit], code[first_fit:refit], code[refit:]

    namespace = run_page(load)
    masked_lm = namespace["masked_lm"]
    assert type(masked_lm).__name__ == "AlbertMaskedLM"
    assert type(masked_lm.preprocessor).__name__ == "AlbertMaskedLMPreprocessor"
    backbone_ids = {id(variable) for variable in masked_lm.backbone.weights}
    head_variables = [
        variable for variable in masked_lm.weights if id(variable) not in backbone_ids
    ]
    assert head_variables, "the masked LM has no weights of its own"
    loaded = weights_by_id(masked_lm.backbone.weights)

    run(first_fit, namespace)
    backbone_before = weights_by_id(masked_lm.backbone.weights)
    assert any(not np.array_equal(backbone_before[key], value) for key, value in loaded.items()), (
        "the first fit did not train the backbone"
    )
    head_before = weights_by_id(head_variables)

    run(refit, namespace)
    assert namespace["masked_lm"] is masked_lm
    assert masked_lm.jit_compile is True
    assert isinstance(masked_lm.loss, keras.losses.SparseCategoricalCrossentropy)
    assert float(masked_lm.optimizer.learning_rate.numpy()) == pytest.approx(5e-5)
    assert masked_lm.backbone.trainable is False and not masked_lm.backbone.trainable_weights
    backbone_after = weights_by_id(masked_lm.backbone.weights)
    for key, before in backbone_before.items():
        np.testing.assert_array_equal(backbone_after[key], before)  # frozen
    head_after = weights_by_id(head_variables)
    changed = [
        key for key, before in head_before.items() if not np.array_equal(head_after[key], before)
    ]
    assert changed, "the second fit did not train the masked-LM head"


def test_albert_masked_lm_preprocessed_example_with_a_local_preset(albert_preset):
    code = albert_page_examples()["preprocessed"].replace(
        '"albert_base_en_uncased"', repr(str(albert_preset))
    )
    code = code.replace(
        "masked_lm.fit(x=features, y=labels", "history = masked_lm.fit(x=features, y=labels"
    )
    code += "\nlogits = masked_lm.predict(features, verbose=0)"
    namespace = run_page(code)
    masked_lm = namespace["masked_lm"]
    assert masked_lm.preprocessor is None
    assert np.isfinite(namespace["history"].history["loss"]).all()
    assert to_numpy(namespace["logits"]).shape == (2, 2, masked_lm.backbone.vocabulary_size)


def test_task_from_preset_examples(tmp_path):
    code = albert_page_examples()["from_preset"]
    gemma, bert = code.split("# Load a Bert classification task.")
    assert '"gemma_2b_en"' in gemma and '"bert_base_en"' in bert
    # Not a preset textbones (or KerasHub) knows for these families: an unknown name.
    with pytest.raises(ValueError, match="Unknown preset 'gemma_2b_en'"):
        run_page(gemma)
    # A built-in name: offline, the clear download error.
    with pytest.raises(
        PresetDownloadError, match="Could not download the built-in preset 'bert_base_en'"
    ):
        run_page(bert)
    # The same call on a local BERT preset gives a BERT classifier that reads raw text.
    local = local_bert_preset(tmp_path / "bert")
    namespace = run_page(bert.replace('"bert_base_en"', repr(str(local))))
    model = namespace["model"]
    assert type(model).__name__ == "BertTextClassifier" and model.num_classes == 2
    assert type(model.preprocessor).__name__ == "BertTextClassifierPreprocessor"
    assert to_numpy(
        model.predict(["The quick brown fox jumped.", "I forgot my homework."], verbose=0)
    ).shape == (2, 2)


# The pages' examples for every registered family ------------------------------------------
# The same code as the pages, with the page's class names replaced by the family's and the
# built-in preset by a tiny local one of that family, so that a new family is run as a user
# of the pages would run it, just by registering.


def family_preset(family, folder: pathlib.Path, task_kind: str | None = None) -> pathlib.Path:
    """A tiny preset of ``family``: its backbone and tokenizer, and with ``task_kind`` that
    task too (a preprocessor that masks half the tokens, for a masked LM)."""
    keras.utils.set_random_seed(0)
    tokenizer = families.tiny_tokenizer(family)
    backbone = families.tiny_backbone(
        family, vocabulary_size=tokenizer.vocabulary_size(), max_sequence_length=32
    )
    if task_kind is None:
        backbone.save_to_preset(folder)
        tokenizer.save_to_preset(folder)
        return folder
    masking = dict(mask_selection_rate=0.5, mask_selection_length=8)
    preprocessor = family.preprocessors[task_kind](
        tokenizer, sequence_length=32, **(masking if task_kind == "masked_lm" else {})
    )
    extra = {"num_classes": 2} if task_kind == "classifier" else {}
    family.tasks[task_kind](backbone, preprocessor=preprocessor, **extra).save_to_preset(folder)
    return folder


def for_family(code: str, family, preset: pathlib.Path, page_preset: str, page_prefix: str) -> str:
    """Page code with the page family's class names (``page_prefix``) replaced by
    ``family``'s and the page's preset name by ``preset``."""
    code = code.replace(f'"{page_preset}"', repr(str(preset)))
    return code.replace(f"models.{page_prefix}", f"models.{family.display_name}")


@pytest.mark.parametrize("family", families.family_params())
def test_backbone_page_example_for_every_family(family, tmp_path):
    data, pretrained, _ = example_block(page("000_bbb90a097a98666b.txt"))
    preset = family_preset(family, tmp_path / family.name)
    namespace = run(data)
    # The page's batch, with the inputs the family's backbone takes.
    namespace["input_data"] = {
        name: value
        for name, value in namespace["input_data"].items()
        if name in family.backbone.input_names
    }
    code = for_family(pretrained, family, preset, "bert_base_en_uncased", "Bert")
    assert f"models.{family.backbone.__name__}.from_preset(" in code
    namespace = run(code + "\nout = model(input_data)", namespace)
    assert type(namespace["model"]) is family.backbone
    expected = family.backbone.from_preset(preset)(namespace["input_data"])
    out, expected = families.outputs_by_name(namespace["out"]), families.outputs_by_name(expected)
    assert sorted(out) == sorted(expected) and "sequence_output" in out
    assert tuple(out["sequence_output"].shape) == (1, 12, family.tiny_config["hidden_dim"])
    for name in out:
        np.testing.assert_array_equal(to_numpy(out[name]), to_numpy(expected[name]))


@pytest.mark.parametrize("family", families.family_params())
def test_masked_lm_page_examples_for_every_family(family, tmp_path):
    """The masked-LM page's raw-string example (fit, re-compile, freeze the backbone, fit
    again) and its preprocessed one, with the family's masked LM."""
    preset = family_preset(family, tmp_path / family.name, "masked_lm")
    examples = albert_page_examples()
    code = for_family(examples["raw"], family, preset, "albert_base_en_uncased", "Albert")
    assert f"models.{family.tasks['masked_lm'].__name__}.from_preset(" in code
    namespace = run_page(code)
    masked_lm = namespace["masked_lm"]
    assert type(masked_lm) is family.tasks["masked_lm"]
    assert type(masked_lm.preprocessor) is family.preprocessors["masked_lm"]
    assert masked_lm.jit_compile is True
    assert masked_lm.backbone.trainable is False and not masked_lm.backbone.trainable_weights

    code = for_family(examples["preprocessed"], family, preset, "albert_base_en_uncased", "Albert")
    code = code.replace(
        "masked_lm.fit(x=features, y=labels", "history = masked_lm.fit(x=features, y=labels"
    )
    # The page's batch, with the inputs the family's backbone takes.
    inputs = (*family.backbone.input_names, "mask_positions")
    code = code.replace(
        "# Labels are the original masked values.",
        f"features = {{k: v for k, v in features.items() if k in {inputs!r}}}",
    )
    namespace = run_page(code + "\nlogits = masked_lm.predict(features, verbose=0)")
    assert namespace["masked_lm"].preprocessor is None
    assert np.isfinite(namespace["history"].history["loss"]).all()
    vocabulary_size = namespace["masked_lm"].backbone.vocabulary_size
    assert to_numpy(namespace["logits"]).shape == (2, 2, vocabulary_size)


@pytest.mark.parametrize("family", families.family_params())
def test_task_from_preset_example_for_every_family(family, tmp_path):
    """The page's ``TextClassifier.from_preset(..., num_classes=2)`` on a tiny preset of the
    family (backbone and tokenizer) builds the family's classifier, which reads raw text."""
    _, bert = albert_page_examples()["from_preset"].split("# Load a Bert classification task.")
    preset = family_preset(family, tmp_path / family.name)
    model = run_page(bert.replace('"bert_base_en"', repr(str(preset))))["model"]
    assert type(model) is family.tasks["classifier"] and model.num_classes == 2
    assert type(model.preprocessor) is family.preprocessors["classifier"]
    texts = ["The quick brown fox jumped.", "I forgot my homework."]
    assert to_numpy(model.predict(texts, verbose=0)).shape == (2, 2)
