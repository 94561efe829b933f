"""The ``CausalLM`` name of KerasHub's API, for code that names it: textbones has no causal LM."""

from __future__ import annotations

from textbones.models.task import Task


class CausalLM(Task):
    """KerasHub's base class of generative (causal) language models, which textbones lacks.

    BERT, ALBERT and FNet are encoders, so no textbones model is a ``CausalLM``. The class
    exists so that code written for KerasHub fails clearly: ``CausalLM.from_preset`` raises
    the usual ``ValueError`` for a name that is not a preset (``"gemma_2b_en"``), and for
    an encoder's preset a ``ValueError`` saying that no causal LM fits it.

    Example:

    >>> import textbones as keras_nlp
    >>> keras_nlp.models.CausalLM.from_preset("gemma_2b_en")
    Traceback (most recent call last):
    ...
    ValueError: Unknown preset 'gemma_2b_en': it is not a local directory nor a built-in preset...
    """
