"""keras.io "Getting Started with KerasNLP" (Keras 3 edition, jax backend), step by step.

Usage: ``getting_started_guide.py [textbones|keras_hub]`` in the reference interpreter; the
last stdout line is the JSON summary (see ``guide_support``). The IMDB download is replaced by
a synthetic ``aclImdb`` folder read with ``keras.utils.text_dataset_from_directory`` as in the
guide; the presets ``bert_tiny_en_uncased`` and ``bert_tiny_en_uncased_sst2`` by tiny local
ones. Model sizes, sequence lengths and epochs are cut down (the guide's values are in the
comments); every call and every ``tf.data`` pipeline is the guide's.
"""

import guide_support

guide_support.set_backend_from_environment()

GUIDE = "getting_started"
TITLE = "Getting Started with KerasNLP"
SOURCE = "https://keras.io/guides/keras_nlp/getting_started/"

BATCH_SIZE = 16
SEQUENCE_LENGTH = (
    64  # the guide: 512 (separate preprocessing), 256 (pretraining), 512 (StartEndPacker)
)
MASKS_PER_SEQUENCE = 16  # the guide: 64
EPOCHS = 1  # the guide: 1 and 3


def step_00_local_presets(s):
    """(set-up, not in the guide) tiny local presets in place of the built-in names"""
    s.presets = guide_support.build_presets(s.keras_nlp, s.keras, s.workdir / "presets")


def step_01_mixed_precision(s):
    """Setup: keras.mixed_precision.set_global_policy("mixed_float16")"""
    s.keras.mixed_precision.set_global_policy("mixed_float16")


def step_02_data(s):
    """Data: text_dataset_from_directory for train and test; print the first review"""
    keras, tf = s.keras, s.tf
    folder = guide_support.write_imdb_folder(s.workdir)
    import shutil

    shutil.rmtree(folder / "train" / "unsup")  # the guide's `rm -r aclImdb/train/unsup`
    s.imdb_train = keras.utils.text_dataset_from_directory("aclImdb/train", batch_size=BATCH_SIZE)
    s.imdb_test = keras.utils.text_dataset_from_directory("aclImdb/test", batch_size=BATCH_SIZE)
    text, label = s.imdb_train.unbatch().take(1).get_single_element()
    print((text, label))
    assert text.dtype == tf.string and label.dtype == tf.int32, (text.dtype, label.dtype)


def step_03_pretrained_classifier_predict(s):
    """Inference with a pretrained classifier: BertClassifier.from_preset(sst2).predict([...])"""
    s.classifier = s.keras_nlp.models.BertClassifier.from_preset(
        s.presets["bert_tiny_en_uncased_sst2"]
    )
    predictions = s.classifier.predict(["I love modular workflows in keras-nlp!"])
    # The guide shows float16 logits: the task is built under the global mixed_float16 policy.
    assert predictions.shape == (1, 2), f"predict gave shape {predictions.shape}"
    assert str(predictions.dtype) == "float16", (
        f"predict gave {predictions.dtype} logits; "
        "under the global mixed_float16 policy they are float16"
    )


def step_04_pretrained_classifier_evaluate(s):
    """Inference with a pretrained classifier: classifier.evaluate(imdb_test), compiled by
    default"""
    loss, accuracy = s.classifier.evaluate(s.imdb_test)
    assert 0.0 <= accuracy <= 1.0 and s.np.isfinite(loss), f"loss {loss}, accuracy {accuracy}"


def step_05_fine_tune_backbone_preset(s):
    """Fine tuning a pretrained backbone: BertClassifier.from_preset(backbone, num_classes=2).fit"""
    classifier = s.keras_nlp.models.BertClassifier.from_preset(
        s.presets["bert_tiny_en_uncased"], num_classes=2
    )
    history = classifier.fit(s.imdb_train, validation_data=s.imdb_test, epochs=EPOCHS)
    assert set(history.history) >= {"loss", "val_loss", "sparse_categorical_accuracy"}, (
        history.history
    )


def step_06_preprocessor_in_tf_data(s):
    """Separate preprocessing: imdb_train.map(BertPreprocessor.from_preset(...)).cache(),
    preprocessor=None"""
    tf = s.tf
    preprocessor = s.keras_nlp.models.BertPreprocessor.from_preset(
        s.presets["bert_tiny_en_uncased"], sequence_length=SEQUENCE_LENGTH
    )
    imdb_train_cached = (
        s.imdb_train.map(preprocessor, tf.data.AUTOTUNE).cache().prefetch(tf.data.AUTOTUNE)
    )
    imdb_test_cached = (
        s.imdb_test.map(preprocessor, tf.data.AUTOTUNE).cache().prefetch(tf.data.AUTOTUNE)
    )
    classifier = s.keras_nlp.models.BertClassifier.from_preset(
        s.presets["bert_tiny_en_uncased"], preprocessor=None, num_classes=2
    )
    classifier.fit(imdb_train_cached, validation_data=imdb_test_cached, epochs=EPOCHS)


def step_07_tokenizer_from_preset(s):
    """Custom preprocessing: BertTokenizer.from_preset(...) on a list of two strings (ragged ids)"""
    s.tokenizer = s.keras_nlp.models.BertTokenizer.from_preset(s.presets["bert_tiny_en_uncased"])
    token_ids = s.tokenizer(["I love modular workflows!", "Libraries over frameworks!"])
    assert len(token_ids) == 2 and len(token_ids[0]) != len(token_ids[1]), (
        f"not ragged: {token_ids}"
    )


def step_08_packer_in_tf_data(s):
    """Custom preprocessing: MultiSegmentPacker(cls/sep ids) and tokenizer in a map()ped function"""
    tf, tokenizer = s.tf, s.tokenizer
    packer = s.keras_nlp.layers.MultiSegmentPacker(
        start_value=tokenizer.cls_token_id,
        end_value=tokenizer.sep_token_id,
        sequence_length=SEQUENCE_LENGTH,  # the guide: 64
    )

    def preprocessor(x, y):
        token_ids, segment_ids = packer(tokenizer(x))
        x = {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": token_ids != 0}
        return x, y

    imdb_train_preprocessed = s.imdb_train.map(preprocessor, tf.data.AUTOTUNE).prefetch(
        tf.data.AUTOTUNE
    )
    s.imdb_test.map(preprocessor, tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
    features, label = imdb_train_preprocessed.unbatch().take(1).get_single_element()
    print((features, label))
    assert features["token_ids"].shape == (SEQUENCE_LENGTH,), features["token_ids"].shape
    assert features["padding_mask"].dtype == tf.bool, (
        f"padding_mask is {features['padding_mask'].dtype}"
    )
    assert int(features["token_ids"][0]) == tokenizer.cls_token_id, (
        f"ids start {features['token_ids'][:3]}"
    )


def step_09_backbone_preprocessing_pipeline(s):
    """Custom model: BertPreprocessor and BertBackbone from the preset, map()ped and cached"""
    tf = s.tf
    preprocessor = s.keras_nlp.models.BertPreprocessor.from_preset(
        s.presets["bert_tiny_en_uncased"]
    )
    s.backbone = s.keras_nlp.models.BertBackbone.from_preset(s.presets["bert_tiny_en_uncased"])
    s.imdb_train_preprocessed = (
        s.imdb_train.map(preprocessor, tf.data.AUTOTUNE).cache().prefetch(tf.data.AUTOTUNE)
    )
    s.imdb_test_preprocessed = (
        s.imdb_test.map(preprocessor, tf.data.AUTOTUNE).cache().prefetch(tf.data.AUTOTUNE)
    )


def step_10_custom_model_build(s):
    """Custom model: frozen backbone, two TransformerEncoders, Dense on backbone.cls_token_index"""
    keras, backbone = s.keras, s.backbone
    backbone.trainable = False
    inputs = backbone.input
    sequence = backbone(inputs)["sequence_output"]
    for _ in range(2):
        sequence = s.keras_nlp.layers.TransformerEncoder(
            num_heads=2,
            intermediate_dim=32,  # the guide: 512
            dropout=0.1,
        )(sequence)
    outputs = keras.layers.Dense(2)(sequence[:, backbone.cls_token_index, :])
    s.model = keras.Model(inputs, outputs)
    s.model.compile(
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        optimizer=keras.optimizers.AdamW(5e-5),
        metrics=[keras.metrics.SparseCategoricalAccuracy()],
        jit_compile=True,
    )
    s.model.summary()


def step_11_custom_model_fit(s):
    """Custom model: model.fit on the preprocessed, cached tf.data pipelines"""
    s.model.fit(s.imdb_train_preprocessed, validation_data=s.imdb_test_preprocessed, epochs=EPOCHS)


def step_12_masking_pipeline(s):
    """Pretraining: preprocessor + MaskedLMMaskGenerator in a map()ped function; print an example"""
    tf, keras_nlp = s.tf, s.keras_nlp
    preprocessor = keras_nlp.models.BertPreprocessor.from_preset(
        s.presets["bert_tiny_en_uncased"],
        sequence_length=SEQUENCE_LENGTH,  # the guide: 256
    )
    preprocessor.packer  # the guide reads both
    tokenizer = preprocessor.tokenizer
    masker = keras_nlp.layers.MaskedLMMaskGenerator(
        vocabulary_size=tokenizer.vocabulary_size(),
        mask_selection_rate=0.25,
        mask_selection_length=MASKS_PER_SEQUENCE,
        mask_token_id=tokenizer.token_to_id("[MASK]"),
        unselectable_token_ids=[tokenizer.token_to_id(x) for x in ["[CLS]", "[PAD]", "[SEP]"]],
    )

    def preprocess(inputs, label):
        inputs = preprocessor(inputs)
        masked_inputs = masker(inputs["token_ids"])
        features = {
            "token_ids": masked_inputs["token_ids"],
            "segment_ids": inputs["segment_ids"],
            "padding_mask": inputs["padding_mask"],
            "mask_positions": masked_inputs["mask_positions"],
        }
        return features, masked_inputs["mask_ids"], masked_inputs["mask_weights"]

    s.pretrain_ds = s.imdb_train.map(preprocess, num_parallel_calls=tf.data.AUTOTUNE).prefetch(
        tf.data.AUTOTUNE
    )
    s.pretrain_val_ds = s.imdb_test.map(preprocess, num_parallel_calls=tf.data.AUTOTUNE).prefetch(
        tf.data.AUTOTUNE
    )
    s.mlm_vocabulary_size = tokenizer.vocabulary_size()
    features, labels, weights = s.pretrain_ds.unbatch().take(1).get_single_element()
    print((features, labels, weights))
    shapes = [tuple(tensor.shape) for tensor in (features["mask_positions"], labels, weights)]
    assert shapes == [(MASKS_PER_SEQUENCE,)] * 3, (
        f"mask positions, labels and weights of shapes {shapes}"
    )


def step_13_pretraining_model_fit(s):
    """Pretraining: BertBackbone + MaskedLMHead(token_embedding=...) on named Inputs, fit"""
    keras, tf, keras_nlp = s.keras, s.tf, s.keras_nlp
    backbone = keras_nlp.models.BertBackbone(
        vocabulary_size=s.mlm_vocabulary_size,
        num_layers=2,
        num_heads=2,
        hidden_dim=16,  # the guide: 128
        intermediate_dim=32,  # the guide: 512
    )
    mlm_head = keras_nlp.layers.MaskedLMHead(token_embedding=backbone.token_embedding)
    inputs = {
        name: keras.Input(shape=(None,), dtype=tf.int32, name=name)
        for name in ("token_ids", "segment_ids", "padding_mask", "mask_positions")
    }
    # The guide passes all four inputs to the backbone, which takes three. Keras 3.15 no longer
    # picks a functional model's inputs out of a larger dict by name (it matches them by
    # position, so "mask_positions" would become the padding mask), on KerasHub as well: pass
    # the backbone its own three.
    sequence = backbone({name: inputs[name] for name in backbone.input})["sequence_output"]
    outputs = mlm_head(sequence, mask_positions=inputs["mask_positions"])
    pretraining_model = keras.Model(inputs, outputs)
    pretraining_model.summary()
    pretraining_model.compile(
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        optimizer=keras.optimizers.AdamW(learning_rate=5e-4),
        weighted_metrics=[keras.metrics.SparseCategoricalAccuracy()],
        jit_compile=True,
    )
    pretraining_model.fit(s.pretrain_ds, validation_data=s.pretrain_val_ds, epochs=EPOCHS)


def step_14_train_word_piece_vocabulary(s):
    """From scratch: compute_word_piece_vocabulary(imdb_train.map(lambda x, y: x)),
    WordPieceTokenizer"""
    keras_nlp = s.keras_nlp
    s.vocab = keras_nlp.tokenizers.compute_word_piece_vocabulary(
        s.imdb_train.map(lambda x, y: x),
        vocabulary_size=400,  # the guide: 20_000
        lowercase=True,
        strip_accents=True,
        reserved_tokens=["[PAD]", "[START]", "[END]", "[MASK]", "[UNK]"],
    )
    s.scratch_tokenizer = keras_nlp.tokenizers.WordPieceTokenizer(
        vocabulary=s.vocab, lowercase=True, strip_accents=True, oov_token="[UNK]"
    )
    assert s.vocab[:5] == ["[PAD]", "[START]", "[END]", "[MASK]", "[UNK]"], s.vocab[:5]


def step_15_start_end_packer_pipeline(s):
    """From scratch: StartEndPacker(start/end/pad ids) after the tokenizer in a map()ped function"""
    tf, tokenizer = s.tf, s.scratch_tokenizer
    packer = s.packer = s.keras_nlp.layers.StartEndPacker(
        start_value=tokenizer.token_to_id("[START]"),
        end_value=tokenizer.token_to_id("[END]"),
        pad_value=tokenizer.token_to_id("[PAD]"),
        sequence_length=SEQUENCE_LENGTH,  # the guide: 512
    )

    def preprocess(x, y):
        token_ids = packer(tokenizer(x))
        return token_ids, y

    s.imdb_preproc_train_ds = s.imdb_train.map(
        preprocess, num_parallel_calls=tf.data.AUTOTUNE
    ).prefetch(tf.data.AUTOTUNE)
    s.imdb_preproc_val_ds = s.imdb_test.map(
        preprocess, num_parallel_calls=tf.data.AUTOTUNE
    ).prefetch(tf.data.AUTOTUNE)
    token_ids, label = s.imdb_preproc_train_ds.unbatch().take(1).get_single_element()
    print((token_ids, label))
    assert token_ids.shape == (SEQUENCE_LENGTH,), f"packed ids of shape {token_ids.shape}"
    assert int(token_ids[0]) == tokenizer.token_to_id("[START]"), f"ids start {token_ids[:3]}"


def step_16_tiny_transformer_build(s):
    """From scratch: Input -> TokenAndPositionEmbedding -> TransformerEncoder -> Dense on
    position 0"""
    keras, keras_nlp = s.keras, s.keras_nlp
    token_id_input = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    outputs = keras_nlp.layers.TokenAndPositionEmbedding(
        vocabulary_size=len(s.vocab),
        sequence_length=s.packer.sequence_length,
        embedding_dim=16,  # the guide: 64
    )(token_id_input)
    outputs = keras_nlp.layers.TransformerEncoder(
        num_heads=2,
        intermediate_dim=32,  # the guide: 128
        dropout=0.1,
    )(outputs)
    outputs = keras.layers.Dense(2)(outputs[:, 0, :])
    s.scratch_model = keras.Model(inputs=token_id_input, outputs=outputs)
    s.scratch_model.summary()


def step_17_tiny_transformer_fit(s):
    """From scratch: compile (AdamW, jit_compile=True) and fit on the packed tf.data pipelines"""
    keras = s.keras
    s.scratch_model.compile(
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        optimizer=keras.optimizers.AdamW(5e-5),
        metrics=[keras.metrics.SparseCategoricalAccuracy()],
        jit_compile=True,
    )
    s.scratch_model.fit(
        s.imdb_preproc_train_ds, validation_data=s.imdb_preproc_val_ds, epochs=EPOCHS
    )


if __name__ == "__main__":
    import sys

    guide_support.main([sys.modules[__name__]], sys.argv)
