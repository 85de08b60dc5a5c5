"""Chapter 4, reward distances (STARC vs EPIC/DARD) and reward-model evaluation: the report."""
