"""A character-level tokenizer built in code: no hub, exact round trip of ASCII text.

Used by every chapter.
"""

from __future__ import annotations

from transformers import PreTrainedTokenizerFast

SPECIAL_TOKENS = ("<pad>", "<bos>", "<eos>", "<unk>")
CHARACTERS = tuple(chr(i) for i in range(32, 127)) + (
    "\n",
)  # printable ASCII and newline


def build_tokenizer() -> PreTrainedTokenizerFast:
    """One token per character, plus PAD, BOS, EOS and UNK (PAD is distinct from EOS).

    Decoding concatenates tokens, so ``decode(encode(text)) == text`` for any ASCII text;
    characters outside ASCII map to ``<unk>``. Padding is on the left, as generation wants.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers

    vocab = {token: i for i, token in enumerate(SPECIAL_TOKENS + CHARACTERS)}
    raw = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    raw.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
    raw.decoder = decoders.Fuse()
    return PreTrainedTokenizerFast(
        tokenizer_object=raw,
        pad_token="<pad>",
        bos_token="<bos>",
        eos_token="<eos>",
        unk_token="<unk>",
        padding_side="left",
    )
