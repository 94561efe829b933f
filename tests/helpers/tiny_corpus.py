"""A tiny pretraining corpus of 120 short sentences, shared by the command's tests."""

import pathlib

#: The repository's root, for subprocesses that must import this checkout.
REPOSITORY = pathlib.Path(__file__).resolve().parents[2]

CORPUS = [
    f"the {animal} {verb} on the {place}."
    for animal in ("cat", "dog", "bird", "fox", "cow")
    for verb in ("sat", "slept", "stood", "ran")
    for place in ("mat", "rug", "floor", "grass", "hill", "roof")
]
