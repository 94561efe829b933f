"""keras.io "Pretraining a Transformer from scratch with KerasNLP" (Keras 3 edition), step by step.

Usage: ``transformer_pretraining_guide.py [textbones|keras_hub]`` in the reference interpreter;
the last stdout line is the JSON summary (see ``guide_support``). The downloads are replaced by
synthetic files in the same formats: SST-2's ``train.tsv`` / ``dev.tsv`` read with
``tf.data.experimental.CsvDataset``, WikiText-103's ``wiki.*.raw`` read with
``tf.data.TextLineDataset`` (filtered to lines over 100 characters, as in the guide) and a
BERT-style ``vocab.txt``. Sizes and epochs are cut down (the guide's values in the comments).
"""

import guide_support

guide_support.set_backend_from_environment()

GUIDE = "transformer_pretraining"
TITLE = "Pretraining a Transformer from scratch with KerasNLP"
SOURCE = "https://keras.io/guides/keras_nlp/transformer_pretraining/"

# Preprocessing params.
PRETRAINING_BATCH_SIZE = 8  # the guide: 128
FINETUNING_BATCH_SIZE = 8  # the guide: 32
SEQ_LENGTH = 32  # the guide: 128
MASK_RATE = 0.25
PREDICTIONS_PER_SEQ = 8  # the guide: 32

# Model params.
NUM_LAYERS = 2  # the guide: 3
MODEL_DIM = 16  # the guide: 256
INTERMEDIATE_DIM = 32  # the guide: 512
NUM_HEADS = 2  # the guide: 4
DROPOUT = 0.1
NORM_EPSILON = 1e-5

# Training params.
PRETRAINING_LEARNING_RATE = 5e-4
PRETRAINING_EPOCHS = 1  # the guide: 8
FINETUNING_LEARNING_RATE = 5e-5
FINETUNING_EPOCHS = 1  # the guide: 3

BAG_OF_WORDS_SIZE = 30  # the guide: 4000 (the synthetic SST-2 has fewer distinct words)


def step_01_download_stand_ins(s):
    """Setup: the SST-2, WikiText-103 and vocabulary downloads (synthetic files here)"""
    s.sst_dir = str(guide_support.write_sst2_folder(s.workdir)) + "/"
    s.wiki_dir = str(guide_support.write_wikitext_folder(s.workdir)) + "/"
    s.vocab_file = str(guide_support.write_vocabulary_file(s.workdir / "bert_vocab_uncased.txt"))


def step_02_load_data(s):
    """Load data: CsvDataset for SST-2, TextLineDataset + filter for WikiText; peek at SST-2"""
    tf = s.tf
    s.sst_train_ds = tf.data.experimental.CsvDataset(
        s.sst_dir + "train.tsv", [tf.string, tf.int32], header=True, field_delim="\t"
    ).batch(FINETUNING_BATCH_SIZE)
    s.sst_val_ds = tf.data.experimental.CsvDataset(
        s.sst_dir + "dev.tsv", [tf.string, tf.int32], header=True, field_delim="\t"
    ).batch(FINETUNING_BATCH_SIZE)
    s.wiki_train_ds = (
        tf.data.TextLineDataset(s.wiki_dir + "wiki.train.raw")
        .filter(lambda x: tf.strings.length(x) > 100)
        .batch(PRETRAINING_BATCH_SIZE)
    )
    s.wiki_val_ds = (
        tf.data.TextLineDataset(s.wiki_dir + "wiki.valid.raw")
        .filter(lambda x: tf.strings.length(x) > 100)
        .batch(PRETRAINING_BATCH_SIZE)
    )
    sentences, labels = s.sst_train_ds.unbatch().batch(4).take(1).get_single_element()
    print((sentences, labels))
    assert sentences.shape == (4,) and labels.dtype == tf.int32, (sentences.shape, labels.dtype)


def step_03_bag_of_words_baseline(s):
    """Baseline (core Keras only): TextVectorization multi_hot + a logistic regression, fit"""
    keras = s.keras
    multi_hot_layer = keras.layers.TextVectorization(
        max_tokens=BAG_OF_WORDS_SIZE, output_mode="multi_hot"
    )
    multi_hot_layer.adapt(s.sst_train_ds.map(lambda x, y: x))
    multi_hot_ds = s.sst_train_ds.map(lambda x, y: (multi_hot_layer(x), y))
    multi_hot_val_ds = s.sst_val_ds.map(lambda x, y: (multi_hot_layer(x), y))
    inputs = keras.Input(shape=(BAG_OF_WORDS_SIZE,), dtype="int32")
    outputs = keras.layers.Dense(1, activation="sigmoid")(inputs)
    baseline_model = keras.Model(inputs, outputs)
    baseline_model.compile(loss="binary_crossentropy", metrics=["accuracy"])
    baseline_model.fit(multi_hot_ds, validation_data=multi_hot_val_ds, epochs=1)  # the guide: 5


def step_04_mlm_preprocessing(s):
    """MLM preprocessing: WordPieceTokenizer(vocab file, sequence_length) + MaskedLMMaskGenerator
    in map()"""
    tf, keras_nlp = s.tf, s.keras_nlp
    tokenizer = s.tokenizer = keras_nlp.tokenizers.WordPieceTokenizer(
        vocabulary=s.vocab_file,
        sequence_length=SEQ_LENGTH,
        lowercase=True,
        strip_accents=True,
    )
    masker = keras_nlp.layers.MaskedLMMaskGenerator(
        vocabulary_size=tokenizer.vocabulary_size(),
        mask_selection_rate=MASK_RATE,
        mask_selection_length=PREDICTIONS_PER_SEQ,
        mask_token_id=tokenizer.token_to_id("[MASK]"),
    )

    def preprocess(inputs):
        inputs = tokenizer(inputs)
        outputs = masker(inputs)
        features = {"token_ids": outputs["token_ids"], "mask_positions": outputs["mask_positions"]}
        return features, outputs["mask_ids"], outputs["mask_weights"]

    s.pretrain_ds = s.wiki_train_ds.map(preprocess, num_parallel_calls=tf.data.AUTOTUNE).prefetch(
        tf.data.AUTOTUNE
    )
    s.pretrain_val_ds = s.wiki_val_ds.map(preprocess, num_parallel_calls=tf.data.AUTOTUNE).prefetch(
        tf.data.AUTOTUNE
    )
    features, labels, weights = s.pretrain_val_ds.take(1).get_single_element()
    print((features, labels, weights))
    assert features["token_ids"].shape == (PRETRAINING_BATCH_SIZE, SEQ_LENGTH), features[
        "token_ids"
    ].shape
    shapes = tuple(labels.shape), tuple(weights.shape)
    assert shapes == ((PRETRAINING_BATCH_SIZE, PREDICTIONS_PER_SEQ),) * 2, (
        f"labels and weights of shapes {shapes}"
    )


def step_05_transformer_encoder(s):
    """Encoder: TokenAndPositionEmbedding, LayerNormalization, Dropout, TransformerEncoder blocks"""
    keras, keras_nlp = s.keras, s.keras_nlp
    inputs = keras.Input(shape=(SEQ_LENGTH,), dtype="int32")
    s.embedding_layer = keras_nlp.layers.TokenAndPositionEmbedding(
        vocabulary_size=s.tokenizer.vocabulary_size(),
        sequence_length=SEQ_LENGTH,
        embedding_dim=MODEL_DIM,
    )
    outputs = s.embedding_layer(inputs)
    outputs = keras.layers.LayerNormalization(epsilon=NORM_EPSILON)(outputs)
    outputs = keras.layers.Dropout(rate=DROPOUT)(outputs)
    for i in range(NUM_LAYERS):
        outputs = keras_nlp.layers.TransformerEncoder(
            intermediate_dim=INTERMEDIATE_DIM,
            num_heads=NUM_HEADS,
            dropout=DROPOUT,
            layer_norm_epsilon=NORM_EPSILON,
        )(outputs)
    s.encoder_model = keras.Model(inputs, outputs)
    s.encoder_model.summary()


def step_06_pretraining_model(s):
    """Pretraining model: MaskedLMHead(token_embedding=embedding_layer.token_embedding, softmax)"""
    keras = s.keras
    inputs = {
        "token_ids": keras.Input(shape=(SEQ_LENGTH,), dtype="int32", name="token_ids"),
        "mask_positions": keras.Input(
            shape=(PREDICTIONS_PER_SEQ,), dtype="int32", name="mask_positions"
        ),
    }
    encoded_tokens = s.encoder_model(inputs["token_ids"])
    outputs = s.keras_nlp.layers.MaskedLMHead(
        token_embedding=s.embedding_layer.token_embedding,
        activation="softmax",
    )(encoded_tokens, mask_positions=inputs["mask_positions"])
    s.pretraining_model = keras.Model(inputs, outputs)
    s.pretraining_model.compile(
        loss="sparse_categorical_crossentropy",
        optimizer=keras.optimizers.AdamW(PRETRAINING_LEARNING_RATE),
        weighted_metrics=["sparse_categorical_accuracy"],
        jit_compile=True,
    )


def step_07_pretrain(s):
    """Pretrain: pretraining_model.fit(pretrain_ds, validation_data=pretrain_val_ds)"""
    s.pretraining_model.fit(
        s.pretrain_ds, validation_data=s.pretrain_val_ds, epochs=PRETRAINING_EPOCHS
    )


def step_08_save_encoder(s):
    """Save the encoder for fine-tuning: encoder_model.save("encoder_model.keras")"""
    s.encoder_model.save("encoder_model.keras")
    s.encoder_path = "encoder_model.keras"


def step_09_classification_preprocessing(s):
    """Fine-tuning data: tokenizer(sentences) in map(); peek at one batch"""
    tf, tokenizer = s.tf, s.tokenizer

    def preprocess(sentences, labels):
        return tokenizer(sentences), labels

    s.finetune_ds = s.sst_train_ds.map(preprocess, num_parallel_calls=tf.data.AUTOTUNE).prefetch(
        tf.data.AUTOTUNE
    )
    s.finetune_val_ds = s.sst_val_ds.map(preprocess, num_parallel_calls=tf.data.AUTOTUNE).prefetch(
        tf.data.AUTOTUNE
    )
    token_ids, labels = s.finetune_val_ds.take(1).get_single_element()
    print((token_ids, labels))
    assert token_ids.shape == (FINETUNING_BATCH_SIZE, SEQ_LENGTH), token_ids.shape


def step_10_reload_encoder(s):
    """Fine-tune: keras.models.load_model("encoder_model.keras", compile=False)"""
    s.reloaded_encoder = s.keras.models.load_model(s.encoder_path, compile=False)


def step_11_fine_tune(s):
    """Fine-tune: reloaded encoder + GlobalAveragePooling1D + Dense(sigmoid), fit on SST-2"""
    keras = s.keras
    inputs = keras.Input(shape=(SEQ_LENGTH,), dtype="int32")
    encoded_tokens = s.reloaded_encoder(inputs)
    # The guide pools `encoded_tokens[0]`; that is the same tensor only where a reloaded
    # single-output model returns a one-element list. Keras 3.15 returns the tensor itself (on
    # KerasHub as well), so the tensor is pooled here.
    pooled_tokens = keras.layers.GlobalAveragePooling1D()(encoded_tokens)
    outputs = keras.layers.Dense(1, activation="sigmoid")(pooled_tokens)
    finetuning_model = keras.Model(inputs, outputs)
    finetuning_model.compile(
        loss="binary_crossentropy",
        optimizer=keras.optimizers.AdamW(FINETUNING_LEARNING_RATE),
        metrics=["accuracy"],
    )
    finetuning_model.fit(s.finetune_ds, validation_data=s.finetune_val_ds, epochs=FINETUNING_EPOCHS)


if __name__ == "__main__":
    import sys

    guide_support.main([sys.modules[__name__]], sys.argv)
