"""Layer 6, publishing: chapter settings and profiles (``settings``, ``profiles``), the findings
contract and its tables (``results``, ``verdicts``, ``tables``, ``scorecard``, ``display``), running
chapters (``cli``, ``chapters``), a chapter's first cell (``start``), the GPU sizing and first check
(``gpu_sizing``, ``gpu_memory``, ``gpu_check``), script entry points (``launch``) and the Colab install
report (``colab``). Chapters (``rlhfbook.chapters``) sit above it and use it.
"""
