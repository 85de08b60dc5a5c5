"""Layer 2, language-model plumbing: sampling and log-probs (``rollout``), loading models and
tokenizers from a folder or hub id (``models``), low-rank adapters (``lora``), memory plans
(``memory``). Used by every chapter that trains a language model (chapters 0 to 3 and 5).
"""
