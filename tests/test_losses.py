"""``textbones.losses``: the in-batch-negatives loss, against a NumPy computation."""

import keras
import numpy as np
import pytest

import textbones
from textbones.losses import MultipleNegativesRankingLoss


def numpy_loss(embeddings: np.ndarray, columns: int, scale: float, cosine: bool) -> float:
    if cosine:
        embeddings = embeddings / np.linalg.norm(embeddings, axis=-1, keepdims=True)
    rows = len(embeddings) // columns
    anchors, candidates = embeddings[:rows], embeddings[rows:]
    scores = scale * anchors @ candidates.T
    scores -= scores.max(axis=1, keepdims=True)
    log_softmax = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
    return float(-log_softmax[np.arange(rows), np.arange(rows)].mean())


@pytest.mark.parametrize("columns", [2, 3])
@pytest.mark.parametrize("similarity", ["cosine", "dot"])
def test_the_loss_is_the_cross_entropy_of_each_anchor_against_the_batch(columns, similarity):
    rng = np.random.default_rng(columns)
    embeddings = rng.normal(size=(5 * columns, 7)).astype("float32")
    labels = np.repeat(np.eye(columns, dtype="float32"), 5, axis=0)
    loss = MultipleNegativesRankingLoss(
        scale=20.0 if similarity == "cosine" else 1.0, similarity=similarity
    )
    expected = numpy_loss(embeddings, columns, loss.scale, similarity == "cosine")
    assert float(loss(labels, embeddings)) == pytest.approx(expected, abs=1e-5)


def test_the_loss_serializes_and_refuses_bad_settings():
    loss = MultipleNegativesRankingLoss(scale=10.0, similarity="dot")
    restored = keras.losses.deserialize(keras.losses.serialize(loss))
    assert (type(restored), restored.scale, restored.similarity) == (
        MultipleNegativesRankingLoss,
        10.0,
        "dot",
    )
    with pytest.raises(ValueError, match="`similarity` must be 'cosine' or 'dot', got 'l2'"):
        MultipleNegativesRankingLoss(similarity="l2")
    with pytest.raises(ValueError, match="needs at least two columns of texts"):
        MultipleNegativesRankingLoss()(np.ones((4, 1), "float32"), np.ones((4, 3), "float32"))


VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *(f"w{i}" for i in range(30))]


def tiny_embedder(**kwargs):
    tokenizer = textbones.models.BertTokenizer(vocabulary=VOCABULARY)
    backbone = textbones.models.BertBackbone(
        len(VOCABULARY), 1, 2, 8, 16, dropout=0.0, max_sequence_length=16
    )
    preprocessor = textbones.models.BertTextEmbedderPreprocessor(tokenizer, sequence_length=16)
    return textbones.models.BertTextEmbedder(backbone, preprocessor, **kwargs)


def test_fit_on_raw_pairs_and_triplets_uses_the_loss_on_the_embeddings():
    keras.utils.set_random_seed(1)
    embedder = tiny_embedder()
    anchors = [f"w{i} w{i + 1}" for i in range(8)]
    positives = [f"w{i + 10} w{i + 2}" for i in range(8)]
    negatives = [f"w{i + 20}" for i in range(8)]
    # One batch of 8 in order: the recorded loss equals the loss of the embeddings before
    # the step (test_on_batch computes it on the same inputs).
    for texts in ((anchors, positives), (anchors, positives, negatives)):
        embeddings = embedder.encode_text([text for column in texts for text in column])
        expected = numpy_loss(embeddings, len(texts), 20.0, cosine=True)
        history = embedder.fit(texts, batch_size=8, epochs=1, shuffle=False, verbose=0)
        assert history.history["loss"][0] == pytest.approx(expected, abs=1e-4)


def test_fit_refuses_what_the_default_loss_cannot_train_on():
    embedder = tiny_embedder()
    with pytest.raises(ValueError, match="Got one column of texts: pass the pairs as a tuple"):
        embedder.fit(["w1 w2", "w3"], verbose=0)
    with pytest.raises(ValueError, match="Got labels `y`: compile with a loss that takes them"):
        embedder.fit(["w1 w2", "w3"], np.ones((2, 8)), verbose=0)
    with pytest.raises(ValueError, match="An embedder encodes one text per row"):
        embedder.predict((["w1"], ["w2"]))


def test_fit_with_another_keras_loss_takes_labels():
    keras.utils.set_random_seed(2)
    embedder = tiny_embedder()
    embedder.compile(optimizer=keras.optimizers.Adam(1e-2), loss=keras.losses.CosineSimilarity())
    texts = ["w1 w2", "w3", "w4 w5 w6", "w7"]
    targets = np.random.default_rng(0).normal(size=(4, 8)).astype("float32")
    targets /= np.linalg.norm(targets, axis=1, keepdims=True)
    before = -float(np.mean(np.sum(embedder.encode_text(texts) * targets, axis=1)))
    history = embedder.fit(texts, targets, batch_size=4, epochs=20, shuffle=False, verbose=0)
    assert history.history["loss"][0] == pytest.approx(before, abs=1e-5)
    assert history.history["loss"][-1] < before - 0.3
