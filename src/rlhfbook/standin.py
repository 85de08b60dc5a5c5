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

Used by the tests of the gpu code paths (no chapter).
"""

from __future__ import annotations

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


def build(
    folder: str | Path, hidden_size: int = 32, layers: int = 2, seed: int = 0
) -> Path:
    """Write the stand-in instruct model and its tokenizer to ``folder``; returns the folder."""
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    folder = Path(folder)
    tok = build_tokenizer()
    end_ids = [
        tok.convert_tokens_to_ids(END_OF_TURN),
        tok.convert_tokens_to_ids(END_OF_TEXT),
    ]
    config = Qwen2Config(
        vocab_size=len(tok),
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        tie_word_embeddings=True,
        bos_token_id=None,
        eos_token_id=end_ids,
        pad_token_id=None,
    )
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config)
    model.generation_config = GenerationConfig(
        eos_token_id=end_ids, bos_token_id=None, pad_token_id=None, **QWEN_SAMPLING
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
