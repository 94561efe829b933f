"""Parity with KerasHub 0.32's ``BertTextEmbedder``, both ways, for each pooling.

One reference process (``keras_hub_text_embedder_reference.py``) builds small KerasHub
embedders with random weights (pooling ``mean``, ``cls`` and ``max``, each normalized or
not) and saves them with KerasHub's ``save_to_preset``, and loads the presets textbones
saved for the same poolings with ``keras_hub.models.TextEmbedder.from_preset``. Each side
embeds the same raw texts (uneven, one longer than the 256 tokens both preprocessors keep)
and the other side's preprocessed inputs; the embeddings agree to 1e-5.
"""

from __future__ import annotations

import json
import os
import subprocess

import numpy as np
import pytest

import textbones
from tests.helpers.reference_env import PARITY, reference_python
from tests.parity.reference_shared import perturb_weights

pytestmark = pytest.mark.parity

TOLERANCE = 1e-5
VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + (
    "the a quick brown fox dog cat sat ran on mat . jumps over lazy ##s ##ed ##ing".split()
)
BACKBONE = {
    "vocabulary_size": len(VOCABULARY),
    "num_layers": 2,
    "num_heads": 2,
    "hidden_dim": 8,
    "intermediate_dim": 16,
    "max_sequence_length": 256,
}
TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "a cat",
    "The dogs sat on the mat, jumping",  # a comma and an unknown word
    "fox",
    " ".join(["the quick brown fox"] * 80),  # 320 words: cut to 256 tokens
    "cats ran over a dog .",
]
MODES = {
    f"{pooling_mode}_{'normalized' if normalize else 'raw'}": {
        "pooling_mode": pooling_mode,
        "normalize": normalize,
    }
    for pooling_mode in ("mean", "cls", "max")
    for normalize in (True, False)
}
SEED = 99


def _textbones_embedder(head: dict, rng) -> textbones.models.BertTextEmbedder:
    backbone = textbones.models.BertBackbone(**BACKBONE)
    perturb_weights(backbone, rng)
    tokenizer = textbones.models.BertTokenizer(vocabulary=VOCABULARY)
    preprocessor = textbones.models.BertTextEmbedderPreprocessor(tokenizer)
    return textbones.models.BertTextEmbedder(backbone, preprocessor, **head)


def _inputs(arrays) -> dict[str, np.ndarray]:
    return {key: np.asarray(arrays[key]) for key in ("token_ids", "segment_ids", "padding_mask")}


@pytest.fixture(scope="module")
def exchanged(tmp_path_factory) -> dict:
    """Both directions' embeddings, after the one reference run."""
    work = tmp_path_factory.mktemp("text_embedder_parity")
    rng = np.random.default_rng(SEED)
    ours = {}
    for name, head in MODES.items():
        embedder = _textbones_embedder(head, rng)
        embedder.save_to_preset(work / "textbones" / name)
        inputs = {key: np.asarray(value) for key, value in embedder.preprocessor(TEXTS).items()}
        ours[name] = {
            "raw": embedder.encode_text(TEXTS),
            "preprocessed": embedder.predict(inputs, verbose=0),
        }
        np.savez(work / "textbones" / f"{name}.npz", **inputs)
    spec = {
        "vocabulary": VOCABULARY,
        "texts": TEXTS,
        "backbone": BACKBONE,
        "embedders": MODES,
        "textbones": list(MODES),
    }
    (work / "spec.json").write_text(json.dumps(spec), encoding="utf-8")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.setdefault("TEXTBONES_REF_KERAS_BACKEND", "torch")
    finished = subprocess.run(
        [str(reference_python()), str(PARITY / "keras_hub_text_embedder_reference.py"), work],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    if finished.returncode != 0:
        pytest.fail(f"the reference run failed:\n{finished.stderr[-4000:]}", pytrace=False)
    summary = json.loads(finished.stdout.strip().splitlines()[-1])
    return {"work": work, "ours": ours, "summary": summary}


@pytest.mark.parametrize("name", list(MODES))
def test_textbones_loads_keras_hub_s_embedder(exchanged, name):
    work = exchanged["work"]
    theirs = np.load(work / "keras_hub" / f"{name}.npz")
    embedder = textbones.models.TextEmbedder.from_preset(work / "keras_hub" / name)
    assert type(embedder) is textbones.models.BertTextEmbedder
    assert embedder.pooling_mode == MODES[name]["pooling_mode"]
    assert embedder.normalize == MODES[name]["normalize"]
    assert embedder.preprocessor.sequence_length == 256
    raw = embedder.encode_text(TEXTS)
    preprocessed = embedder.predict(_inputs(theirs), verbose=0)
    diffs = {
        "raw": float(np.max(np.abs(raw - theirs["raw"]))),
        "preprocessed": float(np.max(np.abs(preprocessed - theirs["preprocessed"]))),
    }
    print(f"KerasHub -> textbones {name}: max abs diff {diffs}")
    assert raw.shape == (len(TEXTS), BACKBONE["hidden_dim"])
    assert max(diffs.values()) <= TOLERANCE, diffs
    if MODES[name]["normalize"]:
        np.testing.assert_allclose(np.linalg.norm(raw, axis=-1), 1.0, atol=1e-6)


@pytest.mark.parametrize("name", list(MODES))
def test_keras_hub_loads_textbones_embedder(exchanged, name):
    work = exchanged["work"]
    assert exchanged["summary"]["loaded"][name] == {"class": "BertTextEmbedder", **MODES[name]}
    checked = np.load(work / "checked" / f"{name}.npz")
    ours = exchanged["ours"][name]
    diffs = {
        key: float(np.max(np.abs(checked[key] - ours[key]))) for key in ("raw", "preprocessed")
    }
    print(f"textbones -> KerasHub {name}: max abs diff {diffs}")
    assert max(diffs.values()) <= TOLERANCE, diffs


def test_the_long_text_is_cut_to_256_tokens(exchanged):
    theirs = np.load(exchanged["work"] / "keras_hub" / "mean_raw.npz")
    ours = np.load(exchanged["work"] / "textbones" / "mean_raw.npz")
    assert theirs["padding_mask"].shape == ours["padding_mask"].shape == (len(TEXTS), 256)
    assert theirs["padding_mask"][4].sum() == ours["padding_mask"][4].sum() == 256
    np.testing.assert_array_equal(theirs["token_ids"], ours["token_ids"])
    assert isinstance(exchanged["summary"]["keras_hub_version"], str)
