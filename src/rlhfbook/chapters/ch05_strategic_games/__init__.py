"""Chapter 5, process metrics in strategic games (AdvGameBench): the league analysis, figures
and check bounds.
"""
