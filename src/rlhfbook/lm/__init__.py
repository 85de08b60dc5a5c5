"""Layer 2, language-model plumbing: sampling and log-probs (``rollout``), loading models and
tokenizers from a folder or hub id (``models``), low-rank adapters (``lora``, peft's), memory plans
(``memory``) and the arithmetic of what sampling and training compute on a GPU (``gpu_cost``). Used by every chapter that trains a language model (chapters 0 to 3 and 5).
"""
