"""Layer 2, language-model plumbing: sampling and log-probs (``rollout``), loading models and
tokenizers from a folder or hub id (``models``), low-rank adapters (``lora``), memory plans (``memory``).
"""
