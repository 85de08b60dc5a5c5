"""Layer 7, the runner and publishing: the chapters' profiles, read from their specs
(``profiles``), a chapter's first cell (``start``), running chapters and checking their notebooks
(``cli``, ``chapters``), the scorecard and status page (``scorecard``), the GPU sizing and first
check (``gpu_sizing``, ``gpu_memory``, ``gpu_check``), script entry points (``launch``) and the
Colab install report (``colab``). It finds the chapters through :data:`rlhfbook.chapters.SPECS`.
"""
