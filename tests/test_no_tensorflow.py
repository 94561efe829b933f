"""All of preprocessing runs, end to end, without TensorFlow ever being imported."""

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
    texts, 40, bos_id=-1, eos_id=-1, control_symbols=["[CLS]", "[SEP]", "[MASK]"], pad_id=0, unk_id=1,
    hard_vocab_limit=False,
)
albert = keras_nlp.models.AlbertTokenizer(proto=proto)
fnet = keras_nlp.models.FNetTokenizer(proto=proto)
for tokenizer, classifier, masked_lm in (
    (bert, keras_nlp.models.BertTextClassifierPreprocessor, keras_nlp.models.BertMaskedLMPreprocessor),
    (albert, keras_nlp.models.AlbertTextClassifierPreprocessor, keras_nlp.models.AlbertMaskedLMPreprocessor),
    (fnet, keras_nlp.models.FNetTextClassifierPreprocessor, keras_nlp.models.FNetMaskedLMPreprocessor),
):
    tokenizer.detokenize(tokenizer(texts))
    classifier(tokenizer, sequence_length=16)((texts, texts))
    x, y, w = masked_lm(tokenizer, sequence_length=16)(texts)
    folder = tempfile.mkdtemp()
    masked_lm(tokenizer, sequence_length=16).save_to_preset(folder)
    keras_nlp.models.Preprocessor.from_preset(folder)(texts)
print("tensorflow imported:", "tensorflow" in sys.modules)
"""


def test_preprocessing_never_imports_tensorflow():
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "tensorflow imported: False"
