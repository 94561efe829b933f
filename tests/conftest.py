"""Shared test set-up: the JAX backend by default, tiny model configs, offline hubs."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from tests.helpers import families  # noqa: E402
from tests.helpers.families import perturb_weights  # noqa: E402, F401
from tests.helpers.offline_hubs import isolate_hubs  # noqa: E402


def _use_compilation_cache() -> None:
    """JAX's persistent compilation cache for this test process, when ``.ci/run`` names one.

    Keras jits a new step function for every model, so two tiny models of the same shapes
    compile twice; with the cache, the second is read back (the same XLA executable). Each
    process (pytest-xdist worker) has a folder of its own, so that no process ever reads an
    entry another is still writing; subprocesses the tests start get no cache at all.
    """
    folder = os.environ.get("TEXTBONES_TEST_JAX_CACHE")
    if not folder or keras.backend.backend() != "jax":
        return
    import jax

    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    jax.config.update("jax_compilation_cache_dir", os.path.join(folder, worker))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


_use_compilation_cache()


def to_numpy(value) -> np.ndarray:
    """A backend tensor (or anything array-like) as a NumPy array, on every backend."""
    return keras.ops.convert_to_numpy(value)


# The tiny backbones, inputs and the ``family`` fixture come from the registered families
# (``tests/helpers/families.py``); these names stay for the tests that spell a family by name.
TINY_CONFIGS = {family.name: families.tiny_config(family) for family in families.families()}


def backbone_class(family: str):
    """The backbone class of the family called ``family``."""
    return families.family(family).backbone


def make_tiny_backbone(family: str, seed: int = 0, **overrides):
    """A tiny backbone of the family called ``family``, weights moved off their init."""
    return families.tiny_backbone(families.family(family), seed, **overrides)


def make_inputs(family: str, lengths=(7, 5, 2), total: int = 7, seed: int = 0) -> dict:
    """A batch of ids with rows of the given real lengths, right-padded with id 0."""
    return families.backbone_inputs(families.family(family), lengths, total, seed)


@pytest.fixture(params=families.family_names())
def family(request) -> str:
    """The name of each registered family in turn."""
    return request.param


@pytest.fixture(autouse=True)
def no_hub_network(monkeypatch, tmp_path_factory):
    """Nothing in the suite may reach the real hubs; see ``tests/helpers/offline_hubs.py``.

    A test that needs a download sets up its own cache or fake endpoint on top of this.
    """
    isolate_hubs(monkeypatch, tmp_path_factory.mktemp("hubs"))
