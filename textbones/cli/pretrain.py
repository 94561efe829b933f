"""``textbones pretrain``: a vocabulary and a masked language model trained from scratch."""

from __future__ import annotations

import dataclasses
import math
import os
import pathlib
import sys
import tempfile
import time
from typing import Any

from textbones import registry

#: Model sizes: backbone arguments, packed length and mask slots per row.
SIZES: dict[str, dict[str, Any]] = {
    "tiny": dict(
        num_layers=2,
        hidden_dim=128,
        num_heads=2,
        intermediate_dim=512,
        embedding_dim=64,
        vocabulary_size=4000,
        sequence_length=64,
        mask_selection_length=16,
    ),
    "small": dict(
        num_layers=4,
        hidden_dim=256,
        num_heads=4,
        intermediate_dim=1024,
        embedding_dim=128,
        vocabulary_size=8000,
        sequence_length=128,
        mask_selection_length=24,
    ),
}
#: The task kind ``pretrain`` trains.
TASK_KIND = "masked_lm"
#: The share of the corpus held out to measure masked-token accuracy.
HELD_OUT_FRACTION = 0.05


def pretrain_families() -> list[str]:
    """The registered families ``pretrain`` can train: those with a masked-LM task.

    Example:

    >>> pretrain_families()[:3]
    ['bert', 'albert', 'f_net']
    """
    return [family.name for family in registry.families() if TASK_KIND in family.tasks]


@dataclasses.dataclass
class PretrainResult:
    """What a pretraining run produced: where, how long, and how well it learned."""

    out: pathlib.Path
    train_sentences: int
    held_out_sentences: int
    accuracy_before: float
    accuracy_after: float
    seconds: float


def check_writable(out: pathlib.Path) -> None:
    """Raise ``PermissionError`` now, not after training, if ``out`` can't be written."""
    parent = out if out.exists() else out.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise NotADirectoryError(
            f"Can't write the preset to {out}: {parent} is a file, not a directory. "
            "Pick another --out."
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PermissionError(
            f"Can't write the preset to {out}: {parent} is not a writable directory. "
            "Pick another --out."
        )
    try:
        with tempfile.TemporaryFile(dir=parent):
            pass
    except OSError as error:
        raise PermissionError(
            f"Can't write the preset to {out} ({error.strerror}). Pick another --out."
        ) from None


def check_target(out: pathlib.Path, overwrite: bool = False) -> None:
    """Refuse, before any work, an ``out`` that ``pretrain`` must not write to.

    ``out`` must be new, an empty folder or (with ``overwrite``) a preset, and writable.

    Example:

    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> check_target(folder / "new")
    >>> _ = (folder / "config.json").write_text("{}")  # a project's own config
    >>> check_target(folder, overwrite=True)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileExistsError: Will not save the pretrained preset to ... not a preset, ...
    """
    from textbones.presets.save_target import check_save_target

    check_save_target(out, allow_preset=overwrite, what="the pretrained preset")
    check_writable(out)


class NonFiniteLossError(RuntimeError):
    """Training stopped because the loss stopped being a finite number."""


def _stop_on_non_finite_loss():
    """A callback that ends training at the first step whose loss is not finite, and
    remembers where (``TerminateOnNaN``, plus the place to report)."""
    import keras

    class StopOnNonFiniteLoss(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.epoch, self.stopped_at = 0, None

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            loss = (logs or {}).get("loss")
            if loss is not None and not math.isfinite(float(loss)) and self.stopped_at is None:
                self.stopped_at = (self.epoch + 1, batch + 1, float(loss))
                self.model.stop_training = True

    return StopOnNonFiniteLoss()


def pretrain(
    out: str | os.PathLike,
    corpus: list[str] | None = None,
    family: str = "bert",
    size: str = "tiny",
    epochs: int = 3,
    batch_size: int = 32,
    max_sentences: int | None = None,
    learning_rate: float = 1e-3,
    seed: int = 0,
    verbose: int = 1,
    overwrite: bool = False,
) -> PretrainResult:
    """Train a vocabulary and a ``MaskedLM`` from scratch, then save the task as a preset.

    Masks are drawn afresh every epoch. Accuracy on held-out sentences (fixed masks) is
    measured before and after training.

    Args:
        out: the preset directory to write.
        corpus: training sentences; ``None`` takes the standard library's docstrings.
        family: the name of a registered family with a masked LM (``"bert"``,
            ``"albert"``, ``"f_net"``, ...; see ``pretrain_families``).
        size: ``"tiny"`` or ``"small"`` (see ``SIZES``).
        epochs: passes over the training sentences.
        batch_size: sentences per step.
        max_sentences: use at most this many sentences (for quick runs).
        learning_rate: peak learning rate (linear warm-up, then linear decay).
        seed: seed of everything random.
        verbose: 0 silent, 1 progress bar, 2 one line per epoch.
        overwrite: replace a preset already at ``out`` (any other non-empty folder is
            refused, before training).

    Raises:
        FileExistsError: ``out`` holds files that are not a preset, or a preset and
            ``overwrite`` is false.
        NonFiniteLossError: the loss became NaN or infinite (the learning rate is too
            high); nothing is saved.

    Example:

    >>> import tempfile
    >>> corpus = ["the cat sat on the mat.", "the dog sat on the rug."] * 40
    >>> result = pretrain(tempfile.mkdtemp() + "/tiny", corpus=corpus, epochs=1, verbose=0)
    >>> result.train_sentences, result.held_out_sentences
    (76, 4)
    """
    import keras
    import numpy as np

    from textbones.cli.corpus import standard_library_sentences
    from textbones.cli.interrupts import raise_if_requested
    from textbones.preprocessing.text_batches import TextBatches

    families = pretrain_families()
    if family not in families:
        raise ValueError(f"Unknown family {family!r}; choose one of {', '.join(families)}.")
    if size not in SIZES:
        raise ValueError(f"Unknown size {size!r}; choose one of {', '.join(SIZES)}.")
    _check_arguments(
        learning_rate, epochs=epochs, batch_size=batch_size, max_sentences=max_sentences
    )
    out = pathlib.Path(out)
    check_target(out, overwrite)
    started = time.perf_counter()
    sentences = (
        standard_library_sentences()
        if corpus is None
        else [line for line in corpus if line.strip()]
    )
    if not sentences:
        raise ValueError("The corpus is empty: there is no text to train on.")
    order = np.random.default_rng(seed).permutation(len(sentences))
    sentences = [sentences[i] for i in order[:max_sentences]]
    held_out_count = max(1, int(len(sentences) * HELD_OUT_FRACTION))
    if len(sentences) < 2 * held_out_count + 1:
        raise ValueError(
            f"The corpus has only {len(sentences)} sentence(s); give at least a few dozen."
        )
    held_out, train = sentences[:held_out_count], sentences[held_out_count:]

    keras.utils.set_random_seed(seed)
    settings = SIZES[size]
    _say(
        verbose,
        f"Training a {settings['vocabulary_size']}-token vocabulary on {len(train)} sentences...",
    )
    chosen = registry.family(family)
    tokenizer = _train_tokenizer(chosen.tokenizer, train, settings["vocabulary_size"])
    backbone = chosen.backbone(
        **backbone_arguments(chosen, settings, vocabulary_size=tokenizer.vocabulary_size())
    )
    preprocessor = chosen.preprocessors[TASK_KIND](
        tokenizer,
        sequence_length=settings["sequence_length"],
        mask_selection_length=settings["mask_selection_length"],
    )
    masked_lm = chosen.tasks[TASK_KIND](backbone, preprocessor=preprocessor)
    steps = epochs * -(-len(train) // batch_size)
    schedule = _warmup_then_decay(learning_rate, steps)
    masked_lm.compile(optimizer=keras.optimizers.AdamW(schedule, weight_decay=0.01))

    held_out_batches = TextBatches(
        held_out, preprocessor=preprocessor, batch_size=batch_size, seed=seed, workers=1
    )

    def held_out_accuracy() -> float:
        metrics = masked_lm.evaluate(
            held_out_batches, verbose=0, return_dict=True, callbacks=[_stop_on_ctrl_c()]
        )
        return float(metrics["sparse_categorical_accuracy"])

    before = held_out_accuracy()
    _say(verbose, f"Held-out masked-token accuracy before training: {before:.1%}")
    _say(
        verbose,
        f"Training a {family} {size} masked LM ({backbone.count_params():,} parameters), "
        f"{epochs} epoch(s)...",
    )
    guard = _stop_on_non_finite_loss()
    callbacks = [guard, _stop_on_ctrl_c()]
    masked_lm.fit(train, batch_size=batch_size, epochs=epochs, verbose=verbose, callbacks=callbacks)
    raise_if_requested()  # a Ctrl-C that native code swallowed still stops the run here
    if guard.stopped_at is not None:
        epoch, step, loss = guard.stopped_at
        raise NonFiniteLossError(
            f"Training stopped at epoch {epoch}, step {step}: the loss became {loss} (the "
            f"learning rate {learning_rate:g} is too high for this model), so nothing was "
            f"saved to {out}. Try a smaller learning rate (--learning-rate; the default is 1e-3)."
        )
    after = held_out_accuracy()
    _say(verbose, f"Held-out masked-token accuracy after training: {after:.1%}")
    raise_if_requested()
    masked_lm.save_to_preset(out)
    seconds = time.perf_counter() - started
    _say(verbose, f"Saved the preset to {out} ({seconds:.0f} s in all).")
    return PretrainResult(out, len(train), len(held_out), before, after, seconds)


def _stop_on_ctrl_c():
    """A callback that raises ``KeyboardInterrupt`` after any step once Ctrl-C was pressed,
    even if the interrupt itself was lost inside native code."""
    import keras

    from textbones.cli.interrupts import raise_if_requested

    class StopOnCtrlC(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            raise_if_requested()

        def on_test_batch_end(self, batch, logs=None):
            raise_if_requested()

    return StopOnCtrlC()


def _check_arguments(learning_rate: float, **counts: int | None) -> None:
    try:
        rate_ok = math.isfinite(float(learning_rate)) and float(learning_rate) > 0
    except (TypeError, ValueError):
        rate_ok = False
    if not rate_ok:
        raise ValueError(
            f"The learning rate must be a finite number above 0, not {learning_rate!r}."
        )
    for name, value in counts.items():
        whole = isinstance(value, int) and not isinstance(value, bool)
        if value is not None and (not whole or value < 1):
            raise ValueError(f"{name} must be a whole number of at least 1, not {value!r}.")


def backbone_arguments(
    family: registry.Family, settings: dict[str, Any], vocabulary_size: int
) -> dict[str, Any]:
    """The constructor arguments of ``family``'s backbone at a size of ``SIZES``.

    Only the arguments the backbone's constructor takes are passed (FNet has no
    ``num_heads``, only ALBERT an ``embedding_dim``); a required argument that the size
    does not set comes from the family's ``tiny_config``.

    Example:

    >>> sorted(backbone_arguments(registry.family("f_net"), SIZES["tiny"], 100))
    ['hidden_dim', 'intermediate_dim', 'max_sequence_length', 'num_layers', 'vocabulary_size']
    >>> backbone_arguments(registry.family("albert"), SIZES["tiny"], 100)["embedding_dim"]
    64
    """
    import inspect

    sized = {
        "vocabulary_size": vocabulary_size,
        "num_layers": settings["num_layers"],
        "hidden_dim": settings["hidden_dim"],
        "intermediate_dim": settings["intermediate_dim"],
        "max_sequence_length": settings["sequence_length"],
        "num_heads": settings["num_heads"],
        "embedding_dim": settings["embedding_dim"],
    }
    parameters = inspect.signature(family.backbone).parameters
    arguments = {name: value for name, value in sized.items() if name in parameters}
    for name, parameter in parameters.items():
        required = parameter.default is inspect.Parameter.empty and parameter.kind in (
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            inspect.Parameter.KEYWORD_ONLY,
        )
        if required and name not in arguments:
            if name not in family.tiny_config:
                raise ValueError(
                    f"pretrain can't size a {family.backbone.__name__}: its argument "
                    f"{name!r} is neither a size setting nor in the family's tiny_config."
                )
            arguments[name] = family.tiny_config[name]
    return arguments


def _train_tokenizer(tokenizer_cls: type, sentences: list[str], vocabulary_size: int):
    import textbones

    if issubclass(tokenizer_cls, textbones.tokenizers.WordPieceTokenizer):
        vocabulary = textbones.tokenizers.compute_word_piece_vocabulary(
            sentences, vocabulary_size, lowercase=True
        )
        return tokenizer_cls(vocabulary=vocabulary, lowercase=True)
    if not issubclass(tokenizer_cls, textbones.tokenizers.SentencePieceTokenizer):
        raise ValueError(
            f"pretrain trains WordPiece and SentencePiece vocabularies only, not one for "
            f"{tokenizer_cls.__name__}."
        )
    proto = textbones.tokenizers.compute_sentence_piece_proto(
        sentences,
        vocabulary_size,
        lowercase=True,
        bos_id=-1,
        eos_id=-1,
        pad_id=0,
        unk_id=1,
        control_symbols=["[CLS]", "[SEP]", "[MASK]"],
        hard_vocab_limit=False,
    )
    return tokenizer_cls(proto=proto)


def _warmup_then_decay(peak: float, steps: int):
    import keras

    warmup = max(1, steps // 10)
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0,
        decay_steps=max(1, steps - warmup),
        warmup_target=peak,
        warmup_steps=warmup,
        alpha=0.1,
    )


def _say(verbose: int, message: str) -> None:
    if verbose:
        print(message, file=sys.stderr if verbose < 0 else sys.stdout, flush=True)
