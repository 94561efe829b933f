"""The name of every file a preset holds, in every format textbones reads or writes.

Two formats share a folder layout, and some names: ``config.json`` is the backbone's
config in a Keras preset and the model config of a ``transformers`` checkpoint, and
``tokenizer.json`` is KerasHub's tokenizer config and ``transformers``' fast-tokenizer
file. Each name is defined once here; the ``transformers`` ones carry an ``HF_`` prefix,
so that no two constants of different meaning share a name. Modules that read or write
a file import its name from here.

Example:

>>> CONFIG_FILE == HF_CONFIG_FILE, TOKENIZER_CONFIG_FILE, HF_TOKENIZER_CONFIG_FILE
(True, 'tokenizer.json', 'tokenizer_config.json')
>>> "/".join(TOKENIZER_ASSET_DIR) + "/" + VOCABULARY_FILE
'assets/tokenizer/vocabulary.txt'
"""

# -- Keras presets (KerasHub's layout) -------------------------------------------------------

#: The backbone's serialized config (``registered_name``, ``config``, ...).
CONFIG_FILE = "config.json"
#: Versions, parameter count, save date and the task kinds the backbone serves.
METADATA_FILE = "metadata.json"
#: The backbone's weights.
WEIGHTS_FILE = "model.weights.h5"
#: The index of sharded backbone weights, and the pattern of its shards.
SHARDED_WEIGHTS_INDEX = "model.weights.json"
SHARDED_WEIGHTS_PATTERN = "model_*.weights.h5"
#: The tokenizer's serialized config.
TOKENIZER_CONFIG_FILE = "tokenizer.json"
#: The folder (as path parts) holding the tokenizer's vocabulary.
TOKENIZER_ASSET_DIR = ("assets", "tokenizer")
#: A WordPiece tokenizer's vocabulary, one token a line, inside ``TOKENIZER_ASSET_DIR``.
VOCABULARY_FILE = "vocabulary.txt"
#: A SentencePiece tokenizer's model, inside ``TOKENIZER_ASSET_DIR``.
SENTENCE_PIECE_ASSET_FILE = "vocabulary.spm"
#: The preprocessor's serialized config (its tokenizer's included).
PREPROCESSOR_CONFIG_FILE = "preprocessor.json"
#: A task's serialized config, and the weights of its head (those outside the backbone).
TASK_CONFIG_FILE = "task.json"
TASK_WEIGHTS_FILE = "task.weights.h5"

#: Files whose JSON names a Keras class (``registered_name``): they mark a Keras preset.
KERAS_PRESET_FILES = (
    CONFIG_FILE,
    TOKENIZER_CONFIG_FILE,
    PREPROCESSOR_CONFIG_FILE,
    TASK_CONFIG_FILE,
)

# -- transformers checkpoints (Hugging Face's names) ------------------------------------------

#: The model config (``model_type``, ``architectures``, sizes).
HF_CONFIG_FILE = "config.json"
#: Weights as safetensors, whole or sharded (the index, and the pattern of its shards).
HF_SAFETENSORS_FILE = "model.safetensors"
HF_SAFETENSORS_INDEX = "model.safetensors.index.json"
HF_SAFETENSORS_SHARD_PATTERN = "model-*.safetensors"
#: Weights as a PyTorch pickle, whole or sharded (the index, and the pattern of every file).
HF_TORCH_FILE = "pytorch_model.bin"
HF_TORCH_INDEX = "pytorch_model.bin.index.json"
HF_TORCH_PATTERN = "pytorch_model*.bin"
#: Weights of other frameworks, which textbones does not read.
HF_OTHER_WEIGHTS_FILES = ("tf_model.h5", "flax_model.msgpack", "model.onnx", "rust_model.ot")
#: A WordPiece vocabulary (BERT) and a SentencePiece model (ALBERT, FNet).
HF_VOCABULARY_FILE = "vocab.txt"
HF_SENTENCE_PIECE_FILE = "spiece.model"
#: The tokenizer's settings (lowercasing, special tokens, ``model_max_length``).
HF_TOKENIZER_CONFIG_FILE = "tokenizer_config.json"
HF_SPECIAL_TOKENS_FILE = "special_tokens_map.json"
#: The fast tokenizer's file (the same name as KerasHub's ``TOKENIZER_CONFIG_FILE``).
HF_FAST_TOKENIZER_FILE = "tokenizer.json"
HF_ADDED_TOKENS_FILE = "added_tokens.json"
#: The tokenizer files textbones writes, removed before writing so no stale one survives.
HF_TOKENIZER_FILES = (
    HF_VOCABULARY_FILE,
    HF_SENTENCE_PIECE_FILE,
    HF_TOKENIZER_CONFIG_FILE,
    HF_SPECIAL_TOKENS_FILE,
)

# -- sentence-transformers folders ------------------------------------------------------------

#: The list of a sentence-transformers model's modules (``idx``, ``name``, ``path``, ``type``).
SENTENCE_TRANSFORMERS_MODULES_FILE = "modules.json"
#: The model-wide settings: ``prompts``, ``default_prompt_name``, ``similarity_fn_name``.
SENTENCE_TRANSFORMERS_CONFIG_FILE = "config_sentence_transformers.json"
#: The Transformer module's settings (``max_seq_length``, ``do_lower_case``), in its folder.
SENTENCE_TRANSFORMERS_BERT_CONFIG_FILE = "sentence_bert_config.json"
#: A module's own settings inside its folder (the Pooling module's pooling modes).
SENTENCE_TRANSFORMERS_MODULE_CONFIG_FILE = "config.json"
#: The folders sentence-transformers names its Pooling and Normalize modules by default.
SENTENCE_TRANSFORMERS_POOLING_DIR = "1_Pooling"
SENTENCE_TRANSFORMERS_NORMALIZE_DIR = "2_Normalize"
#: The sentence-transformers files textbones writes beside a transformers checkpoint.
SENTENCE_TRANSFORMERS_FILES = (
    SENTENCE_TRANSFORMERS_MODULES_FILE,
    SENTENCE_TRANSFORMERS_CONFIG_FILE,
    SENTENCE_TRANSFORMERS_BERT_CONFIG_FILE,
)
