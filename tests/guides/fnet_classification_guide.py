"""keras.io "Text Classification using FNet" (KerasNLP edition), step by step.

Usage: ``fnet_classification_guide.py [textbones|keras_hub]`` in the reference interpreter; the
last stdout line is the JSON summary (see ``guide_support``). The IMDB download is replaced by
a synthetic ``aclImdb`` folder, split with ``text_dataset_from_directory(validation_split=0.2)``
as in the guide. Sizes and epochs are cut down (the guide's values in the comments).
"""

import guide_support

guide_support.set_backend_from_environment()

GUIDE = "fnet_classification"
TITLE = "Text Classification using FNet"
SOURCE = "https://keras.io/examples/nlp/fnet_classification_with_keras_nlp/"

BATCH_SIZE = 16  # the guide: 64
EPOCHS = 1  # the guide: 3
MAX_SEQUENCE_LENGTH = 32  # the guide: 512
VOCAB_SIZE = 400  # the guide: 15000
EMBED_DIM = 16  # the guide: 128
INTERMEDIATE_DIM = 32  # the guide: 512
NUM_HEADS = 2


def step_01_setup(s):
    """Setup: keras.utils.set_random_seed(42)"""
    s.keras.utils.set_random_seed(42)


def step_02_load_dataset(s):
    """Dataset: text_dataset_from_directory with validation_split=0.2, lowercase with tf.strings"""
    import os
    import shutil

    keras, tf = s.keras, s.tf
    guide_support.write_imdb_folder(s.workdir, train=40, test=16)
    print(os.listdir("./aclImdb"), os.listdir("./aclImdb/train"), os.listdir("./aclImdb/test"))
    shutil.rmtree("aclImdb/train/unsup")  # the guide's `rm -rf aclImdb/train/unsup`
    train_ds = keras.utils.text_dataset_from_directory(
        "aclImdb/train", batch_size=BATCH_SIZE, validation_split=0.2, subset="training", seed=42
    )
    val_ds = keras.utils.text_dataset_from_directory(
        "aclImdb/train", batch_size=BATCH_SIZE, validation_split=0.2, subset="validation", seed=42
    )
    test_ds = keras.utils.text_dataset_from_directory("aclImdb/test", batch_size=BATCH_SIZE)
    s.train_ds = train_ds.map(lambda x, y: (tf.strings.lower(x), y))
    s.val_ds = val_ds.map(lambda x, y: (tf.strings.lower(x), y))
    s.test_ds = test_ds.map(lambda x, y: (tf.strings.lower(x), y))
    for text_batch, label_batch in s.train_ds.take(1):
        for i in range(3):
            print(text_batch.numpy()[i], label_batch.numpy()[i])


def step_03_train_word_piece(s):
    """Tokenizer: compute_word_piece_vocabulary on ds.unbatch().map(...).batch(1000).prefetch(2)"""

    def train_word_piece(ds, vocab_size, reserved_tokens):
        word_piece_ds = ds.unbatch().map(lambda x, y: x)
        return s.keras_nlp.tokenizers.compute_word_piece_vocabulary(
            word_piece_ds.batch(1000).prefetch(2),
            vocabulary_size=vocab_size,
            reserved_tokens=reserved_tokens,
        )

    reserved_tokens = ["[PAD]", "[UNK]"]
    [element[0] for element in s.train_ds]  # the guide's `train_sentences`
    s.vocab = train_word_piece(s.train_ds, VOCAB_SIZE, reserved_tokens)
    print("Tokens: ", s.vocab[100:110])
    assert s.vocab[:2] == reserved_tokens and len(s.vocab) <= VOCAB_SIZE, (
        f"the vocabulary starts {s.vocab[:5]} and has {len(s.vocab)} entries"
    )


def step_04_tokenize_one_review(s):
    """Tokenizer: WordPieceTokenizer(vocab, lowercase=False, sequence_length) on one scalar
    review"""
    s.tokenizer = s.keras_nlp.tokenizers.WordPieceTokenizer(
        vocabulary=s.vocab,
        lowercase=False,
        sequence_length=MAX_SEQUENCE_LENGTH,
    )
    input_sentence_ex = s.train_ds.take(1).get_single_element()[0][0]
    input_tokens_ex = s.tokenizer(input_sentence_ex)
    print("Sentence: ", input_sentence_ex)
    print("Tokens: ", input_tokens_ex)
    print("Recovered text after detokenizing: ", s.tokenizer.detokenize(input_tokens_ex))
    shape = tuple(input_tokens_ex.shape)
    assert shape == (MAX_SEQUENCE_LENGTH,), f"one review gave ids of shape {shape}"


def step_05_format_datasets(s):
    """Formatting: tokenizer in map(), {"input_ids": ...}, shuffle(512).prefetch(16).cache()"""
    tf, tokenizer = s.tf, s.tokenizer

    def format_dataset(sentence, label):
        sentence = tokenizer(sentence)
        return ({"input_ids": sentence}, label)

    def make_dataset(dataset):
        dataset = dataset.map(format_dataset, num_parallel_calls=tf.data.AUTOTUNE)
        return dataset.shuffle(512).prefetch(16).cache()

    s.train_ds = make_dataset(s.train_ds)
    s.val_ds = make_dataset(s.val_ds)
    s.test_ds = make_dataset(s.test_ds)
    features, labels = s.train_ds.take(1).get_single_element()
    shape = tuple(features["input_ids"].shape)
    assert shape[1:] == (MAX_SEQUENCE_LENGTH,), f"a batch of input_ids has shape {shape}"


def classifier(s, encoder_layer, name):
    """The guide's model: embeddings, three encoder blocks, average pooling, a sigmoid unit."""
    keras = s.keras
    input_ids = keras.Input(shape=(None,), dtype="int64", name="input_ids")
    x = s.keras_nlp.layers.TokenAndPositionEmbedding(
        vocabulary_size=VOCAB_SIZE,
        sequence_length=MAX_SEQUENCE_LENGTH,
        embedding_dim=EMBED_DIM,
        mask_zero=True,
    )(input_ids)
    for _ in range(3):
        x = encoder_layer()(inputs=x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    x = keras.layers.Dropout(0.1)(x)
    outputs = keras.layers.Dense(1, activation="sigmoid")(x)
    return keras.Model(input_ids, outputs, name=name)


def step_06_build_fnet_classifier(s):
    """Model: TokenAndPositionEmbedding(mask_zero=True) + 3 FNetEncoder + pooling +
    Dense(sigmoid)"""
    s.fnet_classifier = classifier(
        s,
        lambda: s.keras_nlp.layers.FNetEncoder(intermediate_dim=INTERMEDIATE_DIM),
        "fnet_classifier",
    )


def step_07_train_fnet_classifier(s):
    """Training: summary, compile (Adam, binary_crossentropy, accuracy), fit with validation"""
    keras = s.keras
    s.fnet_classifier.summary()
    s.fnet_classifier.compile(
        optimizer=keras.optimizers.Adam(learning_rate=0.001),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    s.fnet_classifier.fit(s.train_ds, epochs=EPOCHS, validation_data=s.val_ds)


def step_08_evaluate_fnet_classifier(s):
    """Training: fnet_classifier.evaluate(test_ds, batch_size=BATCH_SIZE)"""
    loss, accuracy = s.fnet_classifier.evaluate(s.test_ds, batch_size=BATCH_SIZE)
    assert 0.0 <= accuracy <= 1.0, f"accuracy {accuracy}"


def step_09_transformer_classifier(s):
    """Comparison: the same model with 3 TransformerEncoder(num_heads=2); compile, fit, evaluate"""
    keras = s.keras
    transformer_classifier = classifier(
        s,
        lambda: s.keras_nlp.layers.TransformerEncoder(
            intermediate_dim=INTERMEDIATE_DIM, num_heads=NUM_HEADS
        ),
        "transformer_classifier",
    )
    transformer_classifier.summary()
    transformer_classifier.compile(
        optimizer=keras.optimizers.Adam(learning_rate=0.001),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    transformer_classifier.fit(s.train_ds, epochs=EPOCHS, validation_data=s.val_ds)
    transformer_classifier.evaluate(s.test_ds, batch_size=BATCH_SIZE)


if __name__ == "__main__":
    import sys

    guide_support.main([sys.modules[__name__]], sys.argv)
