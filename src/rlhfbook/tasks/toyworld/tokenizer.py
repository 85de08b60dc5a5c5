"""Tokenizers built in code, no hub: the toy world's character-level one (exact round trip of ASCII
text) and the word-level builder the ranking task (chapter 2) and the strategic games (chapter 5)
use for their vocabularies of whole words.

Used by every chapter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

SPECIAL_TOKENS = ("<pad>", "<bos>", "<eos>", "<unk>")
CHARACTERS = tuple(chr(i) for i in range(32, 127)) + (
    "\n",
)  # printable ASCII and newline


def word_level(
    tokens: Sequence[str], pre_tokenizer: Any, decoder: Any = None
) -> PreTrainedTokenizerFast:
    """A tokenizer with one id per entry of :data:`SPECIAL_TOKENS` + ``tokens``, in that order
    (PAD, BOS, EOS and UNK first; PAD is distinct from EOS): the text is split by
    ``pre_tokenizer`` (a ``tokenizers.pre_tokenizers`` object), an unknown piece is ``<unk>``,
    and ``decoder`` joins the pieces. Padding is on the left, as generation wants."""
    vocab = {token: i for i, token in enumerate((*SPECIAL_TOKENS, *tokens))}
    raw = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    raw.pre_tokenizer = pre_tokenizer
    if decoder is not None:
        raw.decoder = decoder
    return PreTrainedTokenizerFast(
        tokenizer_object=raw,
        pad_token="<pad>",
        bos_token="<bos>",
        eos_token="<eos>",
        unk_token="<unk>",
        padding_side="left",
    )


def build_tokenizer() -> PreTrainedTokenizerFast:
    """One token per character, plus PAD, BOS, EOS and UNK (PAD is distinct from EOS).

    Decoding concatenates tokens, so ``decode(encode(text)) == text`` for any ASCII text;
    characters outside ASCII map to ``<unk>``. Padding is on the left, as generation wants.
    """
    return word_level(
        CHARACTERS,
        pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated"),
        decoders.Fuse(),
    )
