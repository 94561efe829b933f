"""Tests of ``textbones/preprocessing/training_corpus.py`` that need no TensorFlow (the
``tf.data`` path runs in ``tests/parity/test_vocabulary_trainers_parity.py``)."""

import subprocess
import sys

from textbones.preprocessing.training_corpus import is_tf_dataset


def test_nothing_else_is_a_dataset():
    for data in (["a text"], ("a", "b"), {"text": "a"}, "text", b"bytes", None, iter(["a"])):
        assert is_tf_dataset(data) is False


def test_lookalike_types_do_not_import_tensorflow():
    # An object whose type claims a TensorFlow module is not a dataset while TensorFlow is
    # not loaded, and asking does not load it (so the trainers stay TensorFlow-free).
    script = (
        "import sys\n"
        "from textbones.preprocessing.training_corpus import is_tf_dataset\n"
        "Fake = type('DatasetV2', (), {'__module__': 'tensorflow.python.data.ops.dataset_ops'})\n"
        "assert is_tf_dataset(Fake()) is False\n"
        "from textbones.tokenizers import compute_word_piece_vocabulary\n"
        "assert compute_word_piece_vocabulary(['bat sat pat mat rat'], 13)[-1] == '##at'\n"
        "assert 'tensorflow' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
