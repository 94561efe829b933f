"""The backbone examples of the user's reference pages run verbatim against textbones.

The pages live in ``../shared/spec/seeds`` beside the repository. Examples that need a
built-in preset's weights are run twice: offline as written (they must fail with the
clear download error), and with a locally built preset substituted for the name.
"""

import pathlib
import subprocess
import sys

import numpy as np
import pytest

import textbones
from tests.conftest import perturb_weights, to_numpy
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
        pytest.fail(f"The reference page {path} is missing: these tests need ../shared beside the repository.")
    return path.read_text(encoding="utf-8")


def example_block(text: str) -> tuple[str, str, str]:
    """The page's example, split into (input data, pretrained stanza, custom-config stanza)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "input_data = {")
    calls = [i for i, line in enumerate(lines) if line.strip() == "model(input_data)" and i > start]
    block = lines[start : calls[1] + 1]
    pretrained = next(i for i, line in enumerate(block) if line.strip().startswith("# Pretrained"))
    custom = next(i for i, line in enumerate(block) if line.strip().startswith("# Randomly initialized"))
    return "\n".join(block[:pretrained]), "\n".join(block[pretrained:custom]), "\n".join(block[custom:])


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
    with pytest.raises(PresetDownloadError, match=f"Could not download the built-in preset '{preset}'"):
        run(data + "\n" + pretrained)


@pytest.mark.parametrize("name", ["000_bbb90a097a98666b.txt", "003_d3ad56dca90e25b6.txt"])
def test_pretrained_example_with_a_local_preset(name, tmp_path):
    data, pretrained, _ = example_block(page(name))
    class_name, preset, _ = BACKBONE_PAGES[name]
    cls = getattr(textbones.models, class_name)
    small = dict(vocabulary_size=40, num_layers=1, hidden_dim=8, intermediate_dim=16, max_sequence_length=16)
    if class_name == "BertBackbone":
        small["num_heads"] = 2
    local = cls(**small)
    perturb_weights(local)
    local.save_to_preset(tmp_path / preset)
    namespace = run(data + "\n" + pretrained.replace(f'"{preset}"', repr(str(tmp_path / preset))) + "\nout = model(input_data)")
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
        "import textbones as keras_nlp, numpy as np\n" + data + "\n" + custom
        + "\nout = model(input_data)\nprint(tuple(out['sequence_output'].shape), tuple(out['pooled_output'].shape))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "(1, 12, 256) (1, 256)"
    assert "Traceback" not in result.stderr
