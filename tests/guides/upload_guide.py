"""keras.io "Uploading Models with KerasNLP", step by step, to hubs faked on this machine.

Usage: ``upload_guide.py [textbones|keras_hub]`` in the reference interpreter; the last stdout
line is the JSON summary (see ``guide_support``). ``tfds.load("imdb_reviews", as_supervised=True,
batch_size=4)`` is replaced by synthetic batches of the same structure, ``bert_tiny_en_uncased``
by a tiny local preset, and Kaggle Models and the Hugging Face Hub by
``guide_support.FakeHubs`` (folders here; ``kagglehub`` and ``huggingface_hub`` are patched,
nothing is sent). The guide's first part fine-tunes and uploads a GPT-2 ``CausalLM``, a family
textbones does not implement; here the same calls run on a BERT ``MaskedLM`` instead
(``keras_nlp.models.MaskedLM.from_preset`` where the guide has ``CausalLM.from_preset``).
"""

import guide_support

guide_support.set_backend_from_environment()

GUIDE = "upload"
TITLE = "Uploading Models with KerasNLP"
SOURCE = "https://keras.io/guides/keras_nlp/upload/"


def step_00_local_presets(s):
    """(set-up, not in the guide) tiny local presets; Kaggle and Hugging Face faked on disk"""
    import os

    s.presets = guide_support.build_presets(s.keras_nlp, s.keras, s.workdir / "presets")
    s.hubs = guide_support.FakeHubs(s.workdir / "hubs")
    s.hubs.install()
    # The guide logs in when these are unset; the fake hubs need no login.
    os.environ["KAGGLE_USERNAME"] = s.hubs.username
    os.environ["KAGGLE_KEY"] = "not-a-real-key"
    os.environ["HF_USERNAME"] = s.hubs.username
    os.environ["HF_TOKEN"] = "not-a-real-token"


def teardown(s):
    import os

    hubs = vars(s).get("hubs")
    if hubs is not None:
        hubs.uninstall()
    for name in ("KAGGLE_USERNAME", "KAGGLE_KEY", "HF_USERNAME", "HF_TOKEN"):
        os.environ.pop(name, None)


def step_01_data(s):
    """Data: IMDB reviews as (text, label) batches of 4 (synthetic); imdb_train.take(100)"""
    tf = s.tf
    imdb_train = guide_support.imdb_reviews_batches(tf, 12, seed=20)
    s.imdb_test = guide_support.imdb_reviews_batches(tf, 8, seed=21)
    s.imdb_train = imdb_train.take(100)


def step_02_load_task(s):
    """Task upload: MaskedLM.from_preset(bert preset) (the guide:
    CausalLM.from_preset("gpt2_base_en"))"""
    s.task = s.keras_nlp.models.MaskedLM.from_preset(s.presets["bert_tiny_en_uncased"])


def step_03_fine_tune_task(s):
    """Task upload: drop the labels with map(lambda x, y: x) and task.fit(imdb_train_reviews)"""
    imdb_train_reviews = s.imdb_train.map(lambda x, y: x)
    s.task.fit(imdb_train_reviews)


def step_04_save_to_preset(s):
    """Task upload: task.save_to_preset(preset_dir); os.listdir(preset_dir)"""
    import os

    s.preset_dir = "./bert_imdb"  # the guide: "./gpt2_imdb"
    s.task.save_to_preset(s.preset_dir)
    files = os.listdir(s.preset_dir)
    print(files)
    assert {
        "config.json",
        "task.json",
        "tokenizer.json",
        "model.weights.h5",
        "metadata.json",
    } <= set(files), files


def step_05_load_saved_task(s):
    """Task upload: MaskedLM.from_preset(preset_dir) gives back what was saved"""
    np = s.np
    reloaded = s.keras_nlp.models.MaskedLM.from_preset(s.preset_dir)
    assert type(reloaded).__name__ == type(s.task).__name__, type(reloaded)
    for saved, loaded in zip(s.task.backbone.weights, reloaded.backbone.weights):
        np.testing.assert_allclose(
            np.asarray(saved.numpy()), np.asarray(loaded.numpy()), rtol=0, atol=0
        )


def step_06_load_backbone_and_tokenizer(s):
    """Task upload: keras_nlp.models.Backbone.from_preset and
    keras_nlp.models.Tokenizer.from_preset"""
    backbone = s.keras_nlp.models.Backbone.from_preset(s.preset_dir)
    tokenizer = s.keras_nlp.models.Tokenizer.from_preset(s.preset_dir)
    names = type(backbone).__name__, type(tokenizer).__name__
    assert names == ("BertBackbone", "BertTokenizer"), names


def step_07_upload_to_kaggle(s):
    """Upload to Kaggle: keras_nlp.upload_preset("kaggle://<user>/bert/keras/bert_imdb",
    preset_dir)"""
    import os

    if "KAGGLE_USERNAME" not in os.environ or "KAGGLE_KEY" not in os.environ:
        raise RuntimeError("the guide would call kagglehub.login() here")
    s.kaggle_username = os.getenv("KAGGLE_USERNAME")
    s.kaggle_uri = (
        f"kaggle://{s.kaggle_username}/bert/keras/bert_imdb"  # the guide: .../gpt2/keras/gpt2_imdb
    )
    s.keras_nlp.upload_preset(s.kaggle_uri, s.preset_dir)
    uploaded = s.hubs.kaggle_folder(s.kaggle_uri.removeprefix("kaggle://"))
    assert (uploaded / "config.json").is_file(), f"nothing reached the Kaggle stand-in {uploaded}"


def step_08_upload_to_hugging_face(s):
    """Upload to Hugging Face: keras_nlp.upload_preset(f"hf://{hf_username}/bert_imdb",
    preset_dir)"""
    import os

    import huggingface_hub

    if "HF_USERNAME" not in os.environ or "HF_TOKEN" not in os.environ:
        raise RuntimeError("the guide would call huggingface_hub.notebook_login() here")
    s.hf_username = huggingface_hub.whoami()["name"]
    s.hf_uri = f"hf://{s.hf_username}/bert_imdb"  # the guide: .../gpt2_imdb
    s.keras_nlp.upload_preset(s.hf_uri, s.preset_dir)
    uploaded = s.hubs.hf_folder(f"{s.hf_username}/bert_imdb")
    assert (uploaded / "config.json").is_file(), f"nothing reached the Hub stand-in {uploaded}"


def step_09_load_uploaded_task(s):
    """Load a user uploaded model: MaskedLM.from_preset("kaggle://...") and ("hf://...")"""
    from_kaggle = s.keras_nlp.models.MaskedLM.from_preset(s.kaggle_uri)
    from_hugging_face = s.keras_nlp.models.MaskedLM.from_preset(s.hf_uri)
    names = {type(model).__name__ for model in (from_kaggle, from_hugging_face, s.task)}
    assert len(names) == 1, names


def step_10_classifier_upload(s):
    """Classifier upload: Classifier.from_preset(..., num_classes=2), fit, save_to_preset,
    upload both"""
    s.classifier = s.keras_nlp.models.Classifier.from_preset(
        s.presets["bert_tiny_en_uncased"], num_classes=2
    )
    s.classifier.fit(s.imdb_train)
    preset_dir = "./bert_tiny_imdb"
    s.classifier.save_to_preset(preset_dir)
    s.keras_nlp.upload_preset(f"kaggle://{s.kaggle_username}/bert/keras/bert_tiny_imdb", preset_dir)
    s.keras_nlp.upload_preset(f"hf://{s.hf_username}/bert_tiny_imdb", preset_dir)


def step_11_load_uploaded_classifier(s):
    """Classifier upload: Classifier.from_preset("kaggle://...") predicts what the saved one did"""
    np = s.np
    classifier = s.keras_nlp.models.Classifier.from_preset(
        f"kaggle://{s.kaggle_username}/bert/keras/bert_tiny_imdb"
    )
    texts = ["A wonderful film.", "The plot was dull and tedious!"]
    np.testing.assert_allclose(
        np.asarray(classifier.predict(texts)),
        np.asarray(s.classifier.predict(texts)),
        rtol=1e-5,
        atol=1e-5,
    )


if __name__ == "__main__":
    import sys

    guide_support.main([sys.modules[__name__]], sys.argv)
