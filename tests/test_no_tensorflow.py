"""All of preprocessing runs, end to end, without TensorFlow ever being imported.

The entry points take TensorFlow tensors too (``preprocessing/tf_tensors.py``), but only look
for them when TensorFlow is already in ``sys.modules``.
"""

import subprocess
import sys

SCRIPT = r"""
import sys, tempfile
import numpy as np
import textbones as keras_nlp
from textbones.tokenizers import compute_sentence_piece_proto, compute_word_piece_vocabulary

texts = ["The quick brown fox jumped.", "Zoë's café, naïve 東京!", "[MASK] me", ""] * 20
vocabulary = compute_word_piece_vocabulary(texts, 60, lowercase=True)
bert = keras_nlp.models.BertTokenizer(vocabulary=vocabulary, lowercase=True)
proto = compute_sentence_piece_proto(
    texts, 40, bos_id=-1, eos_id=-1, control_symbols=["[CLS]", "[SEP]", "[MASK]"], pad_id=0,
    unk_id=1, hard_vocab_limit=False,
)
albert = keras_nlp.models.AlbertTokenizer(proto=proto)
fnet = keras_nlp.models.FNetTokenizer(proto=proto)
for tokenizer, classifier, masked_lm in (
    (bert, keras_nlp.models.BertTextClassifierPreprocessor,
     keras_nlp.models.BertMaskedLMPreprocessor),
    (albert, keras_nlp.models.AlbertTextClassifierPreprocessor,
     keras_nlp.models.AlbertMaskedLMPreprocessor),
    (fnet, keras_nlp.models.FNetTextClassifierPreprocessor,
     keras_nlp.models.FNetMaskedLMPreprocessor),
):
    tokenizer.detokenize(tokenizer(texts))
    classifier(tokenizer, sequence_length=16)((texts, texts))
    x, y, w = masked_lm(tokenizer, sequence_length=16)(texts)
    folder = tempfile.mkdtemp()
    masked_lm(tokenizer, sequence_length=16).save_to_preset(folder)
    keras_nlp.models.Preprocessor.from_preset(folder)(texts)
# The layers a KerasHub user maps over a tf.data pipeline, called directly on NumPy.
packer = keras_nlp.layers.MultiSegmentPacker(16, start_value=2, end_value=3)
token_ids, segment_ids = packer((bert(texts[:4]), bert(texts[4:8])))
masker = keras_nlp.layers.MaskedLMMaskGenerator(
    bert.vocabulary_size(), 0.5, 4, mask_selection_length=4, seed=0
)
masker(token_ids)
import textbones.preprocessing.tf_tensors
print("tensorflow imported:", "tensorflow" in sys.modules)
"""


def test_preprocessing_never_imports_tensorflow():
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "tensorflow imported: False"
