"""textbones and KerasHub imported in one process, in both orders: textbones' own loading
builds textbones' classes, ``.keras`` reloads with schedules and ``AdamW``, and
``from_preset`` under ``mixed_float16`` gives KerasHub's dtype policies. The details are
asserted by ``two_libraries_reference.py`` (reference interpreter); its summary is checked
again here.
"""

import json

import pytest

from tests.helpers import families
from tests.helpers.reference_env import run_reference

pytestmark = pytest.mark.parity


@pytest.mark.parametrize("order", ["keras_hub_first", "textbones_first"])
def test_two_libraries_in_one_process(order):
    finished = run_reference("two_libraries_reference.py", order)
    summary = json.loads(finished.stdout.strip().splitlines()[-1])
    assert summary["order"] == order
    # backbone, tokenizer, preprocessor, classifier and masked LM of every registered family
    registered = sorted(family.display_name for family in families.families())
    assert summary["families"] == registered
    assert len(summary["round_trips"]) == 5 * len(registered)
    assert set(summary["round_trips"].values()) == {"textbones"}
    loads = summary["load_model"]
    assert (loads["textbones_archive"], loads["keras_hub_archive"]) == ("textbones", "keras_hub")
    assert loads["textbones_archive_difference"] < 1e-5
    assert loads["keras_hub_archive_difference"] < 1e-5
    assert summary["mixed_message"].startswith(
        "BertTextClassifierPreprocessor needs a textbones.models.bert.tokenizer.BertTokenizer, "
        "got a keras_hub.src.models.bert.bert_tokenizer.BertTokenizer."
    )
    if order != "keras_hub_first":
        return
    compiled = summary["compile"]
    for name in ("polynomial_decay", "adamw", "custom_schedule"):
        for library in ("keras_hub", "textbones"):
            assert compiled[f"{name}/{library}"]["predict_difference"] < 1e-5
        # KerasHub never restores a compile config: its defaults, a fresh optimizer.
        assert compiled[f"{name}/keras_hub"] == {
            **compiled[f"{name}/keras_hub"],
            "optimizer": "Adam",
            "iterations": 2,
        }
    # textbones restores registered ones with their state (2 saved steps + 2 more)...
    assert compiled["polynomial_decay/textbones"]["optimizer"] == "Adam"
    assert compiled["adamw/textbones"]["optimizer"] == "AdamW"
    assert (
        compiled["polynomial_decay/textbones"]["iterations"]
        == compiled["adamw/textbones"]["iterations"]
        == 4
    )
    # ...and, like KerasHub, takes its defaults for an unregistered custom schedule.
    assert compiled["custom_schedule/textbones"] == {
        **compiled["custom_schedule/textbones"],
        "optimizer": "Adam",
        "iterations": 2,
    }
    dtypes = summary["dtypes"]
    cases = {key.rsplit("/", 1)[0] for key in dtypes}
    assert len(cases) == 10
    for case in cases:
        theirs, ours = dtypes[f"{case}/keras_hub"], dtypes[f"{case}/textbones"]
        assert ours["backbone"] == theirs["backbone"]
        assert ours["variables"] == theirs["variables"]
        assert ours["classifier"] == theirs["classifier"]
        # KerasHub's preprocessor is a layer of the task (int32); textbones' is not.
        assert ours["classifier_layers"] == [
            name for name in theirs["classifier_layers"] if name != "int32"
        ]
        assert ours["classifier"] == ("mixed_float16" if case.endswith("/None") else "bfloat16")
