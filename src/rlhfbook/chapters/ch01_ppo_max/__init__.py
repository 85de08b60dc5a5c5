"""Chapter 1, PPO-max and over-optimisation (Secrets of RLHF I; Gao et al. 2023): the harness,
the gold and proxy reward models of the real-model path, the figures.
"""
