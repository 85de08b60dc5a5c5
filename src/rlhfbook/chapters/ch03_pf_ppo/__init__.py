"""Chapter 3, PF-PPO policy filtration: the harness and the figures."""
