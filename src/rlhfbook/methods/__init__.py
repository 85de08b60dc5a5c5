"""Layer 4, the papers' algorithms: PPO (``ppo``), policy filtration (``filtration``), DPO and
ranking accuracy (``ranking``, ``dpo_training``), reward models (``reward_model``,
``bradley_terry``, ``reward_eval``, ``reward_model_family``), reward distances (``reward_distance``)
and strategic games (``games``). They know no chapter and no profile.
"""
