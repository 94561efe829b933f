"""``textbones embed`` and ``textbones search`` on tiny presets built here, their outputs
checked against the library's own ``TextEmbedder`` numbers."""

import json

import numpy as np
import pytest

from tests.cli.test_cli import run_cli, run_cli_process

WORDS = "red blue green sky sea grass apple query passage document title : the a is".split()
VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]


def tiny_parts():
    import keras

    import textbones

    keras.utils.set_random_seed(0)
    tokenizer = textbones.models.BertTokenizer(vocabulary=VOCABULARY)
    backbone = textbones.models.BertBackbone(len(VOCABULARY), 1, 2, 8, 16, max_sequence_length=32)
    return tokenizer, backbone


@pytest.fixture(scope="module")
def presets(tmp_path_factory):
    """Three presets of one backbone: bare (backbone + tokenizer), a text embedder with
    query/document prompts (mean_sqrt_len_tokens pooling, a default prompt), and one with
    a passage prompt (max pooling, not normalized, euclidean)."""
    import textbones

    folder = tmp_path_factory.mktemp("embed")
    tokenizer, backbone = tiny_parts()
    backbone.save_to_preset(folder / "bare")
    tokenizer.save_to_preset(folder / "bare")
    preprocessor = textbones.models.BertTextEmbedderPreprocessor(tokenizer, sequence_length=32)
    prompted = textbones.models.BertTextEmbedder(
        backbone,
        preprocessor,
        pooling_mode="mean_sqrt_len_tokens",
        prompts={"query": "query : ", "document": "document : ", "title": "title : "},
        default_prompt_name="title",
        similarity_fn_name="cosine",
    )
    prompted.save_to_preset(folder / "prompted")
    passage = textbones.models.BertTextEmbedder(
        backbone,
        preprocessor,
        pooling_mode="max",
        normalize=False,
        prompts={"query": "query : ", "passage": "passage : "},
        similarity_fn_name="euclidean",
    )
    passage.save_to_preset(folder / "passage")
    plain = textbones.models.BertTextEmbedder(backbone, preprocessor)
    return {
        "folder": folder,
        "bare": (folder / "bare", plain),
        "prompted": (folder / "prompted", prompted),
        "passage": (folder / "passage", passage),
    }


TEXTS = ["the red sky", "a green sea is blue", "apple"]


def embed_json(*arguments):
    status, out, err = run_cli("embed", *arguments)
    assert status == 0, err
    return np.array(json.loads(out))


def test_embed_a_backbone_preset_gives_mean_pooled_normalized_vectors(presets):
    preset, plain = presets["bare"]
    vectors = embed_json(preset, *TEXTS)
    expected = plain.encode_text(TEXTS)
    assert vectors.shape == (3, 8)
    np.testing.assert_allclose(vectors, expected, atol=1e-6)  # printed to 6 decimals
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # The same numbers by hand: the mean of the backbone's token features, then L2.
    inputs = plain.preprocessor(TEXTS)
    features = np.asarray(plain.backbone.predict(inputs, verbose=0)["sequence_output"])
    mask = np.asarray(inputs["padding_mask"], "float32")[..., None]
    mean = (features * mask).sum(1) / mask.sum(1)
    np.testing.assert_allclose(
        vectors, mean / np.linalg.norm(mean, axis=1, keepdims=True), atol=1e-6
    )


def test_embed_uses_the_presets_pooling_and_prompts(presets):
    preset, embedder = presets["prompted"]
    default = embed_json(preset, *TEXTS)
    np.testing.assert_allclose(default, embedder.encode_text(TEXTS), atol=1e-6)
    np.testing.assert_allclose(default, embedder.encode_text(TEXTS, prompt_name="title"), atol=1e-6)
    query = embed_json(preset, *TEXTS, "--prompt-name", "query")
    np.testing.assert_allclose(query, embedder.encode_text(TEXTS, prompt_name="query"), atol=1e-6)
    assert np.abs(query - default).max() > 1e-3  # the prompt changed the vectors
    text = embed_json(preset, *TEXTS, "--prompt", "sea : ")
    np.testing.assert_allclose(text, embedder.encode_text(TEXTS, prompt="sea : "), atol=1e-6)
    one_by_one = embed_json(preset, *TEXTS, "--prompt-name", "query", "--batch-size", "1")
    np.testing.assert_allclose(one_by_one, query, atol=1e-6)


def test_embed_output_writes_npy_and_never_overwrites_unasked(presets, tmp_path):
    preset, embedder = presets["prompted"]
    status, out, err = run_cli("embed", preset, *TEXTS, "--output", tmp_path / "v")
    assert status == 0, err
    assert out == f"Saved 3 vectors of size 8 to {tmp_path / 'v.npy'}\n"
    saved = np.load(tmp_path / "v.npy")
    assert saved.dtype == np.float32 and saved.shape == (3, 8)
    np.testing.assert_allclose(saved, embedder.encode_text(TEXTS), atol=1e-6)

    status, _, err = run_cli("embed", preset, "apple", "--output", tmp_path / "v.npy")
    assert status == 1
    assert err == (
        f"textbones embed: error: --output {tmp_path / 'v.npy'} already exists. Pass "
        "--overwrite to replace it, or choose another file.\n"
    )
    assert np.load(tmp_path / "v.npy").shape == (3, 8)  # left alone
    status, _, err = run_cli(
        "embed", preset, "apple", "--output", tmp_path / "v.npy", "--overwrite"
    )
    assert status == 0, err
    assert np.load(tmp_path / "v.npy").shape == (1, 8)
    status, _, err = run_cli("embed", preset, "apple", "--output", tmp_path)
    assert status == 1 and "is a folder; give a file path such as" in err


def test_embed_errors(presets, tmp_path):
    preset, _ = presets["prompted"]
    status, _, err = run_cli("embed", preset, "apple", "--prompt-name", "nope")
    assert status == 1
    assert err == (
        "textbones embed: error: --prompt-name 'nope': the preset has no prompt of that name "
        "(its prompts: 'query', 'document', 'title'). Name one of them, or give the prompt "
        "text with --prompt.\n"
    )
    status, _, err = run_cli("embed", preset, "apple", "--prompt-name", "query", "--prompt", "x")
    assert status == 2 and "not allowed with argument" in err
    status, _, err = run_cli("embed", preset, "apple", "--batch-size", "0")
    assert status == 2 and "0 is not positive" in err


SEARCH_CORPUS = "the red sky\n\nblue sea\n  green grass  \n\napple\nthe blue sky is red\n"
CORPUS_LINES = [(1, "the red sky"), (3, "blue sea"), (4, "green grass"), (6, "apple")]
CORPUS_LINES.append((7, "the blue sky is red"))
QUERIES = ["red sky", "grass is green"]


def expected_results(embedder, queries, top_k, query_prompt, corpus_prompt):
    texts = [text for _, text in CORPUS_LINES]
    scores = embedder.similarity(
        embedder.encode_text(queries, prompt_name=query_prompt),
        embedder.encode_text(texts, prompt_name=corpus_prompt),
    )
    results = []
    for query, row in zip(queries, scores):
        best = np.argsort(-row, kind="stable")[:top_k]
        matches = [
            {
                "rank": rank,
                "score": float(row[i]),
                "line": CORPUS_LINES[i][0],
                "text": CORPUS_LINES[i][1],
            }
            for rank, i in enumerate(best, start=1)
        ]
        results.append({"query": query, "matches": matches})
    return results


def search_json(*arguments):
    status, out, err = run_cli("search", *arguments)
    assert status == 0, err
    # stderr may hold the late progress bar (a slow first compile on a busy machine) and
    # nothing else; stdout holds only the JSON lines.
    assert "error" not in err and "Warning" not in err, err
    return [json.loads(line) for line in out.splitlines()]


def assert_same_results(got, expected):
    assert len(got) == len(expected)
    for row, want in zip(got, expected):
        assert row["query"] == want["query"]
        assert [(m["rank"], m["line"], m["text"]) for m in row["matches"]] == [
            (m["rank"], m["line"], m["text"]) for m in want["matches"]
        ]
        np.testing.assert_allclose(
            [m["score"] for m in row["matches"]],
            [m["score"] for m in want["matches"]],
            atol=1e-6,
        )


def test_search_uses_the_query_and_document_prompts(presets, tmp_path):
    preset, embedder = presets["prompted"]
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(SEARCH_CORPUS)
    got = search_json(preset, "--corpus", corpus, *QUERIES, "--top-k", "3")
    assert [len(row["matches"]) for row in got] == [3, 3]
    assert list(got[0]) == ["query", "matches"]
    assert list(got[0]["matches"][0]) == ["rank", "score", "line", "text"]
    expected = expected_results(embedder, QUERIES, 3, "query", "document")
    assert_same_results(got, expected)
    # Another choice of prompts gives other scores, still the library's.
    got = search_json(
        preset,
        "--corpus",
        corpus,
        *QUERIES,
        "--prompt-name",
        "title",
        "--corpus-prompt-name",
        "title",
    )
    assert_same_results(got, expected_results(embedder, QUERIES, 5, "title", "title"))
    assert got[0]["matches"][0]["score"] != expected[0]["matches"][0]["score"]


def test_search_with_a_passage_prompt_and_the_presets_similarity(presets, tmp_path):
    preset, embedder = presets["passage"]
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(SEARCH_CORPUS)
    got = search_json(preset, "--corpus", corpus, "blue sky", "--top-k", "2")
    assert_same_results(got, expected_results(embedder, ["blue sky"], 2, "query", "passage"))
    assert all(match["score"] < 0 for match in got[0]["matches"])  # negated distances


def test_search_a_backbone_preset_with_top_k_beyond_the_corpus(presets, tmp_path):
    preset, plain = presets["bare"]
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(SEARCH_CORPUS)
    got = search_json(preset, "--corpus", corpus, "apple", "--top-k", "50")
    assert len(got[0]["matches"]) == len(CORPUS_LINES)
    assert_same_results(got, expected_results(plain, ["apple"], 50, None, None))
    assert got[0]["matches"][0]["text"] == "apple"
    assert got[0]["matches"][0]["score"] == pytest.approx(1.0, abs=1e-5)


def test_search_progress_bar_goes_to_stderr(presets, tmp_path, monkeypatch):
    from textbones.models import text_embedder

    original = text_embedder.LateProgressBar.__init__
    monkeypatch.setattr(
        text_embedder.LateProgressBar, "__init__", lambda self, delay=0.0: original(self, 0.0)
    )
    preset, _ = presets["bare"]
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(f"the {word} sky" for word in WORDS * 4))
    status, out, err = run_cli("search", preset, "--corpus", corpus, "sea", "--batch-size", "4")
    assert status == 0, err
    assert "batch" in err and "15/15" in err  # 60 lines in batches of 4, then the query
    assert [list(json.loads(line)) for line in out.splitlines()] == [["query", "matches"]]


def test_search_errors_are_one_line(presets, tmp_path):
    preset, _ = presets["prompted"]
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(SEARCH_CORPUS)
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n")
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"red\n\x7fELF\x00\x01\n")
    latin = tmp_path / "latin.txt"
    latin.write_bytes(b"caf\xe9\n")
    no_tokenizer = tmp_path / "no_tokenizer"
    tiny_parts()[1].save_to_preset(no_tokenizer)
    cases = [
        (
            (preset, "--corpus", tmp_path / "missing.txt", "q"),
            f"Corpus file {tmp_path / 'missing.txt'} does not exist. Give a UTF-8 text file, "
            "one text per line.",
        ),
        (
            (preset, "--corpus", empty, "q"),
            f"Corpus file {empty} holds no text (it is empty or only blank lines). Give a "
            "UTF-8 text file, one text per line.",
        ),
        (
            (preset, "--corpus", binary, "q"),
            f"Corpus file {binary} is not text: line 2 holds a NUL byte (a binary file?).",
        ),
        ((preset, "--corpus", latin, "q"), "is not UTF-8 text: line 1 holds a byte"),
        (
            (preset, "--corpus", tmp_path, "q"),
            f"Corpus path {tmp_path} is a folder, not a file: --corpus takes one text file.",
        ),
        (
            (no_tokenizer, "--corpus", corpus, "q"),
            f"The preset {no_tokenizer} has no tokenizer, so it can't read text.",
        ),
        ((tmp_path / "nowhere", "--corpus", corpus, "q"), "does not exist"),
        (
            (preset, "--corpus", corpus, "q", "--corpus-prompt-name", "nope"),
            "--corpus-prompt-name 'nope': the preset has no prompt of that name (its prompts: "
            "'query', 'document', 'title'). Name one of them, or give the prompt text with "
            "--corpus-prompt.",
        ),
        ((preset, "--corpus", corpus, "q", "--prompt-name", "nope"), "--prompt-name 'nope'"),
    ]
    for arguments, expected in cases:
        status, out, err = run_cli("search", *arguments)
        assert status == 1, (arguments, out, err)
        assert out == "" and err.count("\n") == 1, err
        assert err.startswith("textbones search: error: ") and expected in err, err
    status, _, err = run_cli("search", preset, "q")
    assert status == 2 and "the following arguments are required: --corpus" in err
    status, _, err = run_cli("search", preset, "--corpus", corpus, "q", "--top-k", "0")
    assert status == 2 and "0 is not positive" in err


def test_search_as_a_process(presets, tmp_path):
    preset, embedder = presets["prompted"]
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(SEARCH_CORPUS, encoding="utf-8")
    status, out, err = run_cli_process(
        "search", preset, "--corpus", corpus, "red sky", "--top-k", "1", cwd=tmp_path
    )
    assert status == 0, err
    [row] = [json.loads(line) for line in out.splitlines()]
    assert_same_results([row], expected_results(embedder, ["red sky"], 1, "query", "document"))
