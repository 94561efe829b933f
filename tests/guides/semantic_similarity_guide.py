"""keras.io "Semantic Similarity with KerasNLP" (Keras 3 edition, BERT part), step by step.

Usage: ``semantic_similarity_guide.py [textbones|keras_hub]`` in the reference interpreter; the
last stdout line is the JSON summary (see ``guide_support``). ``tfds.load("snli")`` is replaced
by synthetic ``tf.data`` datasets of the same element structure (unbatched dictionaries of
scalar ``hypothesis`` / ``premise`` strings and an int64 ``label``, some ``-1``), and
``bert_tiny_en_uncased`` by a tiny local preset. The guide's last part fine-tunes RoBERTa,
a family textbones does not implement, and is left out. Epochs are cut to 1.
"""

import guide_support

guide_support.set_backend_from_environment()

GUIDE = "semantic_similarity"
TITLE = "Semantic Similarity with KerasNLP"
SOURCE = "https://keras.io/examples/nlp/semantic_similarity_with_keras_nlp/"

BATCH_SIZE = 16


def step_00_local_presets(s):
    """(set-up, not in the guide) tiny local presets in place of the built-in names"""
    s.presets = guide_support.build_presets(s.keras_nlp, s.keras, s.workdir / "presets")


def step_01_load_snli(s):
    """Data: SNLI train/validation/test splits (synthetic); a sample of four test pairs"""
    tf = s.tf
    s.snli_train = guide_support.snli_dataset(tf, 32, seed=10)
    s.snli_val = guide_support.snli_dataset(tf, 16, seed=11)
    s.snli_test = guide_support.snli_dataset(tf, 16, seed=12)
    s.sample = s.snli_test.batch(4).take(1).get_single_element()
    print(s.sample)


def step_02_filter_and_split(s):
    """Preprocessing: filter out label -1, split into ((hypothesis, premise), label), batch(16)"""
    tf = s.tf

    def filter_labels(sample):
        return sample["label"] >= 0

    def split_labels(sample):
        x = (sample["hypothesis"], sample["premise"])
        y = sample["label"]
        return x, y

    s.train_ds = (
        s.snli_train.filter(filter_labels)
        .map(split_labels, num_parallel_calls=tf.data.AUTOTUNE)
        .batch(BATCH_SIZE)
    )
    s.val_ds = (
        s.snli_val.filter(filter_labels)
        .map(split_labels, num_parallel_calls=tf.data.AUTOTUNE)
        .batch(BATCH_SIZE)
    )
    s.test_ds = (
        s.snli_test.filter(filter_labels)
        .map(split_labels, num_parallel_calls=tf.data.AUTOTUNE)
        .batch(BATCH_SIZE)
    )


def step_03_bert_baseline_fit(s):
    """BERT baseline: BertClassifier.from_preset(..., num_classes=3).fit on sentence-pair tf.data"""
    s.bert_classifier = s.keras_nlp.models.BertClassifier.from_preset(
        s.presets["bert_tiny_en_uncased"], num_classes=3
    )
    s.bert_classifier.fit(s.train_ds, validation_data=s.val_ds, epochs=1)


def step_04_bert_baseline_evaluate(s):
    """BERT baseline: bert_classifier.evaluate(test_ds)"""
    s.bert_classifier.evaluate(s.test_ds)


def step_05_recompile_with_adam(s):
    """Recompile: SparseCategoricalCrossentropy(from_logits=True), Adam(5e-5), accuracy; fit,
    evaluate"""
    keras = s.keras
    bert_classifier = s.keras_nlp.models.BertClassifier.from_preset(
        s.presets["bert_tiny_en_uncased"], num_classes=3
    )
    bert_classifier.compile(
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        optimizer=keras.optimizers.Adam(5e-5),
        metrics=["accuracy"],
    )
    bert_classifier.fit(s.train_ds, validation_data=s.val_ds, epochs=1)
    bert_classifier.evaluate(s.test_ds)


def step_06_adamw_with_triangular_schedule(s):
    """AdamW with a custom LearningRateSchedule (linear warm-up, linear decay); fit"""
    keras = s.keras

    class TriangularSchedule(keras.optimizers.schedules.LearningRateSchedule):
        """Rises linearly for `warmup` steps, then falls linearly to zero at `total` steps."""

        def __init__(self, rate, warmup, total):
            self.rate = rate
            self.warmup = warmup
            self.total = total

        def get_config(self):
            return {"rate": self.rate, "warmup": self.warmup, "total": self.total}

        def __call__(self, step):
            step = keras.ops.cast(step, dtype="float32")
            rate = keras.ops.cast(self.rate, dtype="float32")
            warmup = keras.ops.cast(self.warmup, dtype="float32")
            total = keras.ops.cast(self.total, dtype="float32")
            warmup_rate = rate * step / self.warmup
            cooldown_rate = rate * (total - step) / (total - warmup)
            triangular_rate = keras.ops.minimum(warmup_rate, cooldown_rate)
            return keras.ops.maximum(triangular_rate, 0.0)

    s.bert_classifier = s.keras_nlp.models.BertClassifier.from_preset(
        s.presets["bert_tiny_en_uncased"], num_classes=3
    )
    epochs = 1  # the guide: 3
    total_steps = sum(1 for _ in s.train_ds.as_numpy_iterator()) * epochs
    warmup_steps = int(total_steps * 0.5)  # the guide: 0.2 (of many more steps)
    s.bert_classifier.compile(
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        optimizer=keras.optimizers.AdamW(TriangularSchedule(1e-4, warmup_steps, total_steps)),
        metrics=["accuracy"],
    )
    s.bert_classifier.fit(s.train_ds, validation_data=s.val_ds, epochs=epochs)


def step_07_evaluate_final_model(s):
    """Evaluate the final model: bert_classifier.evaluate(test_ds)"""
    s.bert_classifier.evaluate(s.test_ds)


def step_08_save_and_reload(s):
    """Save and reload: bert_classifier.save("bert_classifier.keras"), load_model, evaluate"""
    s.bert_classifier.save("bert_classifier.keras")
    restored_model = s.keras.models.load_model("bert_classifier.keras")
    restored_model.evaluate(s.test_ds)


def step_09_inference(s):
    """Inference: predict on the (hypothesis, premise) tuple of the sample; softmax in NumPy"""
    np = s.np
    sample = (s.sample["hypothesis"], s.sample["premise"])
    predictions = s.bert_classifier.predict(sample)

    def softmax(x):
        return np.exp(x) / np.exp(x).sum(axis=0)

    predictions = softmax(predictions)
    assert predictions.shape == (4, 3), predictions.shape


if __name__ == "__main__":
    import sys

    guide_support.main([sys.modules[__name__]], sys.argv)
