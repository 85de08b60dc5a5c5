"""A local stand-in for a hub instruct model (Qwen2.5-0.5B-Instruct and the like), built in code.

The ``gpu`` profile's code paths meet things the toy world never has: a chat template, two end
tokens, no pad token, a byte-level BPE vocabulary, ``model_type: qwen2`` (for which
``AutoTokenizer`` builds ``Qwen2Tokenizer``). :func:`build` writes a folder with all of them,
from a few seconds of CPU work and no network, so that the tests (``tests/test_gpu_path.py``)
and a GPU machine without a hub can run those paths:

* a Qwen2 causal LM with small dimensions (random weights, ``save_pretrained``);
* a byte-level BPE tokenizer trained here on a small corpus (the ``tokenizers`` library,
  wrapped as ``PreTrainedTokenizerFast``), with Qwen's ChatML template, ``<|im_end|>`` as EOS,
  ``<|endoftext|>`` as a second end token in the generation config, and **no pad token**
  (as gpt2 and Llama 3 ship); the vocabulary fills the embedding matrix exactly, so a pad
  token added later needs the embeddings resized;
* Qwen2.5-Instruct's published sampling defaults in its generation config (:data:`QWEN_SAMPLING`),
  which a caller of ``generate`` inherits unless it sets them aside.

:func:`write_hh_rlhf` and :func:`write_mbpp` write small local datasets in the formats of
Anthropic/hh-rlhf (full ``"\\n\\nHuman: ... \\n\\nAssistant: ..."`` transcripts) and of MBPP.

:func:`build` with ``vocabulary="qwen"`` is closer still: Qwen2.5's own tokenizer, rebuilt from the
byte-level BPE ranks of its 151,643 tokens (``qwen.tiktoken``, which ships inside the ``dashscope``
wheel from the package index; :func:`qwen_tokenizer`), its 22 special tokens, ``<|endoftext|>`` as its
pad token, its chat template with the default system prompt (:data:`QWEN_CHAT_TEMPLATE`, the tool-call
branches left out) and its 151,936-row embedding matrix, so that token lengths, vocabulary-sized
logits and the memory they take are the real model's.

Used by the tests of the gpu code paths (no chapter).
"""

from __future__ import annotations

import base64
import importlib.util
import json
from pathlib import Path

END_OF_TURN, END_OF_TEXT, START_OF_TURN = "<|im_end|>", "<|endoftext|>", "<|im_start|>"
CHAT_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>'"
    " + '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

# The sampling fields of Qwen2.5-0.5B/1.5B-Instruct's generation_config.json on the hub (7B: repetition_penalty 1.05).
QWEN_SAMPLING = {
    "do_sample": True,
    "repetition_penalty": 1.1,
    "temperature": 0.7,
    "top_k": 20,
    "top_p": 0.8,
}

# Qwen2.5's tokenizer (tokenizer.json / tokenizer_config.json / config.json on the hub)
QWEN_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
    r"\s*[\r\n]+|\s+(?!\S)|\s+"
)
QWEN_SPECIALS = (
    END_OF_TEXT,  # 151643, also the pad token
    START_OF_TURN,
    END_OF_TURN,
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
    "<tool_call>",
    "</tool_call>",
    "<|fim_prefix|>",
    "<|fim_middle|>",
    "<|fim_suffix|>",
    "<|fim_pad|>",
    "<|repo_name|>",
    "<|file_sep|>",
)
QWEN_EMBEDDING_ROWS = 151_936  # Qwen2.5-0.5B/1.5B's vocab_size: the embedding matrix, padded past the tokens
QWEN_SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
QWEN_CHAT_TEMPLATE = (
    "{%- if messages[0]['role'] == 'system' %}"
    "{{- '<|im_start|>system\n' + messages[0]['content'] + '<|im_end|>\n' }}"
    "{%- else %}{{- '<|im_start|>system\n"
    + QWEN_SYSTEM
    + "<|im_end|>\n' }}{%- endif %}"
    "{%- for message in messages %}"
    "{%- if message['role'] != 'system' or not loop.first %}"
    "{{- '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
    "{%- endif %}{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\n' }}{%- endif %}"
)

_WORDS = (
    "the a model answer question helpful honest reward policy value token python function return list "
    "number string sum count sort reverse prime even odd def for in if else while print assert human "
    "assistant please thanks sure here is how what why when can you write code test"
).split()


def corpus(n: int = 400, seed: int = 0) -> list[str]:
    """Short English-and-Python lines to train the BPE vocabulary on (deterministic)."""
    import random

    rng = random.Random(seed)
    lines = []
    for i in range(n):
        words = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(4, 12)))
        lines.append(
            f"{words}.\ndef f{i % 7}(x):\n    return x + {i % 10}\nassert f{i % 7}(1) == {1 + i % 10}"
        )
    return lines


def build_tokenizer(vocab_size: int = 512):
    """The byte-level BPE tokenizer (no pad token), with the chat template and end tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    raw = Tokenizer(models.BPE())
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[END_OF_TEXT, START_OF_TURN, END_OF_TURN],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    raw.train_from_iterator(corpus(), trainer=trainer)
    tok = PreTrainedTokenizerFast(
        tokenizer_object=raw,
        eos_token=END_OF_TURN,
        additional_special_tokens=[START_OF_TURN, END_OF_TEXT],
    )
    tok.chat_template = CHAT_TEMPLATE
    return tok


def qwen_ranks() -> dict[bytes, int]:
    """Qwen's byte-level BPE: each token's bytes and rank (= id), 151,643 of them, read from the
    ``qwen.tiktoken`` file of the installed ``dashscope`` package (one base64 token and its rank a line)."""
    spec = importlib.util.find_spec("dashscope")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "the Qwen-vocabulary stand-in reads qwen.tiktoken from the dashscope package: "
            "pip install dashscope (make setup installs it)"
        )
    path = Path(spec.submodule_search_locations[0]) / "resources" / "qwen.tiktoken"
    pairs = (line.split() for line in path.read_text().splitlines() if line)
    return {base64.b64decode(token): int(rank) for token, rank in pairs}


def qwen_tokenizer():
    """Qwen2.5's tokenizer rebuilt from :func:`qwen_ranks`: transformers' tiktoken converter (every
    token's merges recovered from the ranks, Qwen's pre-tokenizing pattern, byte-level decoding) with
    the 22 special tokens after the ranks (ids 151,643-151,664), ``<|im_end|>`` as EOS and
    ``<|endoftext|>`` as pad, and Qwen's chat template."""
    from transformers import PreTrainedTokenizerFast
    from transformers.convert_slow_tokenizer import TikTokenConverter

    class RanksConverter(TikTokenConverter):
        @staticmethod
        def load_tiktoken_bpe(_: str) -> dict[bytes, int]:
            return qwen_ranks()

    raw = RanksConverter(
        pattern=QWEN_PATTERN, extra_special_tokens=list(QWEN_SPECIALS)
    ).converted()
    tok = PreTrainedTokenizerFast(
        tokenizer_object=raw,
        eos_token=END_OF_TURN,
        pad_token=END_OF_TEXT,
        additional_special_tokens=list(QWEN_SPECIALS[1:]),
    )
    tok.chat_template = QWEN_CHAT_TEMPLATE
    return tok


def ends_turns(model, eos_id: int, p_end: float = 0.1) -> None:
    """Make a random-weight model end its turns as an instruct model does, about once in
    ``1 / p_end`` tokens: among 151,665 tokens a random model would almost never sample its EOS.
    Every token's embedding gets a constant first feature, which dominates the final RMSNorm's
    input, so the normalised state's first feature is about sqrt(hidden_size) whatever the
    context; the EOS row of the (untied) output layer reads only that feature, with the weight that
    gives EOS the logit log(p_end / (1 - p_end) x vocabulary) against the others' logits of about 0."""
    import math

    import torch

    vocab, hidden = model.lm_head.weight.shape
    with torch.no_grad():
        model.model.embed_tokens.weight[:, 0] = 1.0
        model.lm_head.weight[:, 0] = 0.0
        model.lm_head.weight[eos_id] = 0.0
        logit = math.log(p_end / (1 - p_end) * vocab)
        model.lm_head.weight[eos_id, 0] = logit / math.sqrt(hidden)


def build(
    folder: str | Path,
    hidden_size: int = 32,
    layers: int = 2,
    seed: int = 0,
    vocabulary: str = "small",
) -> Path:
    """Write the stand-in instruct model and its tokenizer to ``folder``; returns the folder.
    ``vocabulary`` "small": a 512-token BPE trained here, no pad token; "qwen": Qwen2.5's tokenizer
    (:func:`qwen_tokenizer`) and its 151,936-row embedding matrix."""
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    folder = Path(folder)
    tokenizers = {"small": build_tokenizer, "qwen": qwen_tokenizer}
    tok = tokenizers[vocabulary]()
    end_ids = [
        tok.convert_tokens_to_ids(END_OF_TURN),
        tok.convert_tokens_to_ids(END_OF_TEXT),
    ]
    config = Qwen2Config(
        vocab_size=QWEN_EMBEDDING_ROWS if vocabulary == "qwen" else len(tok),
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        tie_word_embeddings=vocabulary == "small",  # qwen: untied, see ends_turns
        bos_token_id=None,
        eos_token_id=end_ids,
        pad_token_id=tok.pad_token_id,
    )
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config)
    if vocabulary == "qwen":
        ends_turns(model, tok.eos_token_id)
    model.generation_config = GenerationConfig(
        eos_token_id=end_ids,
        bos_token_id=None,
        pad_token_id=tok.pad_token_id,
        **QWEN_SAMPLING,
    )
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def write_hh_rlhf(path: str | Path, n: int = 24) -> Path:
    """An HH-RLHF-format ``.jsonl``: ``chosen`` / ``rejected`` full transcripts sharing the prompt."""
    rows = []
    for i in range(n):
        prompt = f"\n\nHuman: can you write a python function that returns {i} plus x?\n\nAssistant:"
        rows.append(
            {
                "chosen": f"{prompt} Sure: def f(x): return x + {i}",
                "rejected": f"{prompt} No.",
            }
        )
    path = Path(path)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def write_mbpp(path: str | Path, n: int = 10) -> Path:
    """An MBPP-format ``.jsonl``: ``text``, ``code``, ``test_list`` (three asserts), ``test_setup_code``."""
    rows = [
        {
            "task_id": i,
            "text": f"Write a function add_{i}(x) that returns x plus {i}.",
            "code": f"def add_{i}(x):\n    return x + {i}",
            "test_list": [f"assert add_{i}({k}) == {k + i}" for k in (1, 2, 3)],
            "test_setup_code": "",
        }
        for i in range(n)
    ]
    path = Path(path)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path
