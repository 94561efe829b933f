"""The ``textbones`` command line: argument parsing and one-line errors.

Exit status: 0 on success, 2 for a usage error (argparse's convention), 1 when the
command itself fails; the failure is one line on stderr, without a traceback
(``TEXTBONES_DEBUG=1`` shows it).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pathlib
import sys


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line (and exit status 2)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``textbones`` and its subcommands.

    Example:

    >>> build_parser().parse_args(["fill-mask", "./p", "a [MASK] day"]).top_k
    5
    """
    from textbones import registry
    from textbones.cli.pretrain import pretrain_families

    family_names = [family.name for family in registry.families()]
    parser = _Parser(
        prog="textbones",
        description=(
            f"Pretrain, inspect, convert and use {', '.join(family_names)} models "
            "(KerasHub-compatible presets)."
        ),
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    presets = commands.add_parser(
        "presets",
        help="list the built-in presets",
        description="List the built-in presets, and whether each is in the local download cache.",
    )
    presets.add_argument("--family", choices=family_names, help="only this family")

    inspect = commands.add_parser(
        "inspect",
        help="describe a preset",
        description=(
            "Show a preset's kind, family, config, parameter count, task, tokenizer and "
            "files. A built-in preset name is described from the configs shipped with "
            "textbones when it has not been downloaded (no network needed)."
        ),
    )
    inspect.add_argument(
        "preset", help="a preset directory, built-in name, kaggle:// or hf:// handle"
    )
    inspect.add_argument("--json", action="store_true", help="print JSON instead of text")

    pretrain = commands.add_parser(
        "pretrain",
        help="train a vocabulary and a masked LM from scratch",
        description=(
            "Train a vocabulary and a masked language model from scratch with dynamic masking, "
            "then save the task as a preset. Without --corpus, the docstrings of the Python "
            "standard library serve as an embedded corpus (no download)."
        ),
    )
    pretrain.add_argument(
        "--corpus",
        nargs="+",
        metavar="PATH",
        help="UTF-8 text files, one sentence or paragraph per line",
    )
    pretrain.add_argument("--family", choices=pretrain_families(), default="bert")
    pretrain.add_argument("--size", choices=["tiny", "small"], default="tiny")
    pretrain.add_argument(
        "--out",
        required=True,
        help="the preset directory to write: new, empty, or a preset with --overwrite",
    )
    pretrain.add_argument(
        "--overwrite", action="store_true", help="replace a preset already at --out"
    )
    pretrain.add_argument("--epochs", type=_positive_int, default=3)
    pretrain.add_argument("--batch-size", type=_positive_int, default=32)
    pretrain.add_argument(
        "--max-sentences", type=_positive_int, help="use at most this many sentences"
    )
    pretrain.add_argument(
        "--learning-rate",
        type=_learning_rate,
        default=1e-3,
        help="peak learning rate, a finite number above 0 (default 1e-3)",
    )
    pretrain.add_argument("--seed", type=int, default=0)

    fill = commands.add_parser(
        "fill-mask",
        help="predict the [MASK] tokens of a text",
        description=(
            "Print the most likely tokens, with probabilities, for each [MASK] in the text."
        ),
    )
    fill.add_argument("preset", help="a masked-LM task preset")
    fill.add_argument("text", help='e.g. "Return the [MASK] of the list."')
    fill.add_argument("--top-k", type=_positive_int, default=5)

    classify = commands.add_parser(
        "classify",
        help="classify texts with a classifier preset",
        description=(
            "Print the predicted class and class probabilities of each text, as JSON lines."
        ),
    )
    classify.add_argument("preset", help="a text-classifier task preset")
    classify.add_argument("texts", nargs="+", metavar="text")

    ner = commands.add_parser(
        "ner",
        help="find the named entities of texts with a token-classifier preset",
        description=(
            "Print the entities of each text as JSON lines: one line per text, "
            '{"text": ..., "entities": [...]}, each entity with its label (entity_group, or '
            "entity with --aggregation-strategy none), score, word, and start/end character "
            "offsets, as transformers' token-classification pipeline gives them."
        ),
    )
    ner.add_argument("preset", help="a token-classifier task preset")
    ner.add_argument("texts", nargs="+", metavar="text")
    ner.add_argument(
        "--aggregation-strategy",
        choices=["none", "simple", "first", "average", "max"],
        default="simple",
        help="how tokens become entities (default simple)",
    )
    ner.add_argument(
        "--stride",
        type=int,
        help="read texts longer than the model's length in windows overlapping by this "
        "many tokens (default: cut them)",
    )

    qa = commands.add_parser(
        "qa",
        help="answer questions from a context with a question-answerer preset",
        description=(
            "Print the answer to each question, found in the context file's text, as JSON "
            "lines (question, answer, score, start and end characters)."
        ),
    )
    qa.add_argument("preset", help="a question-answerer task preset")
    qa.add_argument("questions", nargs="+", metavar="question")
    qa.add_argument("--context", required=True, help="a UTF-8 text file holding the context")
    qa.add_argument("--top-k", type=_positive_int, default=1, help="answers per question")
    qa.add_argument(
        "--max-answer-len", type=_positive_int, default=15, help="tokens per answer at most"
    )
    qa.add_argument(
        "--handle-impossible-answer",
        action="store_true",
        help="also score the empty answer (no answer in the context)",
    )

    embed = commands.add_parser(
        "embed",
        help="sentence embeddings of texts",
        description=(
            "Print the embedding of each text as JSON (a list of vectors, one per text, "
            "numbers rounded to 6 decimals), or save them with --output as .npy. The preset "
            "is loaded as a TextEmbedder, so a text-embedder preset or sentence-transformers "
            "folder uses its own pooling, prompts and normalization; any other preset with a "
            "backbone and a tokenizer gives mean-pooled, L2-normalized vectors."
        ),
    )
    embed.add_argument("preset", help="any preset with a backbone and a tokenizer")
    embed.add_argument("texts", nargs="+", metavar="text")
    _add_prompt_arguments(embed, "the texts")
    embed.add_argument("--batch-size", type=_positive_int, help="texts per batch (default 32)")
    embed.add_argument(
        "--output",
        metavar="FILE.npy",
        help="write a [texts, dimensions] float32 .npy file here instead of printing JSON "
        "('.npy' is added when missing)",
    )
    embed.add_argument(
        "--overwrite", action="store_true", help="replace the --output file if it exists"
    )

    search = commands.add_parser(
        "search",
        help="the corpus lines closest to each query",
        description=(
            "Embed every line of a corpus file once, then print, for each query, the --top-k "
            "closest lines by the preset's similarity, best first, as JSON lines: one object "
            'per query, {"query": ..., "matches": [{"rank": 1, "score": ..., "line": ..., '
            '"text": ...}, ...]}, where line is the line number in the corpus file (from 1) '
            "and score is rounded to 6 decimals. The preset is loaded as a TextEmbedder (see "
            "`textbones embed --help`). Queries and corpus lines take the preset's prompts "
            'named "query" and "document" (else "passage") when it has them, unless told '
            "otherwise. A progress bar on stderr shows once embedding takes a few seconds."
        ),
    )
    search.add_argument("preset", help="any preset with a backbone and a tokenizer")
    search.add_argument(
        "--corpus",
        required=True,
        metavar="FILE",
        help="a UTF-8 text file, one text per line (blank lines are skipped)",
    )
    search.add_argument("queries", nargs="+", metavar="query")
    search.add_argument(
        "--top-k", type=_positive_int, default=5, help="matches per query (default 5)"
    )
    _add_prompt_arguments(
        search, "the queries", default='its prompt named "query", else its default prompt'
    )
    corpus_prompt = search.add_mutually_exclusive_group()
    corpus_prompt.add_argument(
        "--corpus-prompt-name",
        metavar="NAME",
        help='the preset\'s prompt for the corpus lines (default: its prompt named "document", '
        'else "passage", else its default prompt, if any)',
    )
    corpus_prompt.add_argument(
        "--corpus-prompt", metavar="TEXT", help="a prompt text put before each corpus line"
    )
    search.add_argument("--batch-size", type=_positive_int, help="texts per batch (default 32)")

    convert = commands.add_parser(
        "convert",
        help="convert a preset between formats",
        description=(
            "Convert a preset or checkpoint to a Keras-format preset (KerasHub's layout) or a "
            "Hugging Face transformers checkpoint."
        ),
    )
    convert.add_argument(
        "source", help="a preset directory or handle (Keras format or transformers checkpoint)"
    )
    convert.add_argument(
        "destination",
        help="the directory to write: new, empty, or a preset with --overwrite (never the source)",
    )
    convert.add_argument("--to", choices=["keras", "transformers"], default="keras")
    convert.add_argument(
        "--overwrite", action="store_true", help="replace a preset already at DESTINATION"
    )
    return parser


def _add_prompt_arguments(
    parser: argparse.ArgumentParser, what: str, default: str = "the preset's default prompt"
) -> None:
    prompt = parser.add_mutually_exclusive_group()
    prompt.add_argument(
        "--prompt-name",
        metavar="NAME",
        help=f"the preset's prompt of this name, put before {what} (default: {default}, if any)",
    )
    prompt.add_argument("--prompt", metavar="TEXT", help=f"a prompt text put before {what}")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not positive")
    return value


def _learning_rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a finite number above 0 (e.g. 1e-3, the default)"
        )
    return value


def run(arguments: argparse.Namespace) -> None:
    """Carry out one parsed command, printing its results to stdout."""
    command = arguments.command
    if command == "presets":
        from textbones.cli.inspection import format_table, preset_table

        print(format_table(preset_table(arguments.family)))
    elif command == "inspect":
        from textbones.cli.inspection import format_inspection, inspect_preset

        info = inspect_preset(arguments.preset)
        print(json.dumps(info, indent=2) if arguments.json else format_inspection(info))
    elif command == "pretrain":
        from textbones.cli.corpus import read_corpus_files
        from textbones.cli.pretrain import check_target, pretrain

        check_target(pathlib.Path(arguments.out), arguments.overwrite)  # before any work
        corpus = read_corpus_files(arguments.corpus) if arguments.corpus else None
        pretrain(
            arguments.out,
            corpus=corpus,
            family=arguments.family,
            size=arguments.size,
            epochs=arguments.epochs,
            batch_size=arguments.batch_size,
            max_sentences=arguments.max_sentences,
            learning_rate=arguments.learning_rate,
            seed=arguments.seed,
            verbose=1 if sys.stdout.isatty() else 2,
            overwrite=arguments.overwrite,
        )
    elif command == "fill-mask":
        from textbones.cli.inference import fill_mask

        predictions = fill_mask(arguments.preset, arguments.text, arguments.top_k)
        for number, candidates in enumerate(predictions, start=1):
            print(f"[MASK] {number}:")
            for token, probability in candidates:
                print(f"  {probability:7.2%}  {token}")
    elif command == "classify":
        from textbones.cli.inference import classify

        for row in classify(arguments.preset, arguments.texts):
            print(json.dumps(row, ensure_ascii=False))
    elif command == "ner":
        from textbones.cli.inference import ner

        rows = ner(
            arguments.preset,
            arguments.texts,
            aggregation_strategy=arguments.aggregation_strategy,
            stride=arguments.stride,
        )
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
    elif command == "qa":
        from textbones.cli.inference import answer_questions

        for row in answer_questions(
            arguments.preset,
            arguments.context,
            arguments.questions,
            top_k=arguments.top_k,
            max_answer_len=arguments.max_answer_len,
            handle_impossible_answer=arguments.handle_impossible_answer,
        ):
            print(json.dumps(row, ensure_ascii=False))
    elif command == "embed":
        from textbones.cli.inference import embed, npy_output_path, save_npy

        output = None
        if arguments.output:  # checked before the model is loaded
            output = npy_output_path(arguments.output, overwrite=arguments.overwrite)
        vectors = embed(
            arguments.preset,
            arguments.texts,
            prompt_name=arguments.prompt_name,
            prompt=arguments.prompt,
            batch_size=arguments.batch_size,
        )
        if output is not None:
            save_npy(output, vectors, overwrite=arguments.overwrite)
            rows, size = vectors.shape
            print(f"Saved {rows} vectors of size {size} to {output}")
        else:
            print(json.dumps([[round(float(v), 6) for v in row] for row in vectors]))
    elif command == "search":
        from textbones.cli.inference import search

        results = search(
            arguments.preset,
            arguments.corpus,
            arguments.queries,
            top_k=arguments.top_k,
            prompt_name=arguments.prompt_name,
            prompt=arguments.prompt,
            corpus_prompt_name=arguments.corpus_prompt_name,
            corpus_prompt=arguments.corpus_prompt,
            batch_size=arguments.batch_size,
        )
        for result in results:
            print(json.dumps(result, ensure_ascii=False))
    elif command == "convert":
        from textbones.presets import convert

        convert(
            arguments.source,
            arguments.destination,
            format=arguments.to,
            overwrite=arguments.overwrite,
        )
        print(f"Wrote {arguments.destination} ({arguments.to} format).")


def _interruption_message(arguments: argparse.Namespace) -> str:
    if arguments.command == "pretrain":
        return f"interrupted; nothing was saved to {arguments.out}."
    if arguments.command == "convert":
        return f"interrupted; nothing was saved to {arguments.destination}."
    return "interrupted."


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``textbones`` console script; returns the exit status.

    ``argv`` defaults to the command line. Exit status: 0 on success, 2 for a usage error,
    1 when the command fails, 130 when interrupted (Ctrl-C). Run as the program
    (``argv`` left out), an interrupted command ends the process at once after flushing
    its output: an XLA compilation cut short by Ctrl-C otherwise crashes the interpreter
    as it shuts down.

    Example:

    >>> main(["inspect", "./no-such-preset"])
    1
    >>> main(["pretrain", "--out", "./p", "--learning-rate", "nan"])
    2
    """
    try:
        arguments = build_parser().parse_args(argv)
    except SystemExit as exit:  # a usage error (2), or --help (0)
        return exit.code if isinstance(exit.code, int) else 2
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from textbones.cli.interrupts import catching_interrupts

    try:
        with catching_interrupts():
            run(arguments)
    except KeyboardInterrupt:
        print(f"textbones {arguments.command}: {_interruption_message(arguments)}", file=sys.stderr)
        if argv is None:
            _exit_now(130)
        return 130
    except Exception as error:  # One line for the user; the traceback on request.
        if os.environ.get("TEXTBONES_DEBUG"):
            raise
        message = " ".join(str(error).split()) or type(error).__name__
        print(f"textbones {arguments.command}: error: {message}", file=sys.stderr)
        return 1
    return 0


def _exit_now(status: int) -> None:
    """Flush the output and end the process without the interpreter's shutdown."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(status)


if __name__ == "__main__":
    sys.exit(main())
