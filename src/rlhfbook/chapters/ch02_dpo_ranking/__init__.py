"""Chapter 2, DPO and the ranking-accuracy gap (Chen et al. 2024): the harness, the analytic
sandbox and the figures.
"""
