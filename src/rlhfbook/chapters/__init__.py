"""Layer 6, one package per chapter: its spec (settings, profiles, budgets), its harness (the runs,
seeds and checks) and its figures. A chapter imports no other chapter; the book finds the chapters
through :data:`SPECS`, in book order.
"""

from rlhfbook.chapters.ch00_toy_world.spec import SPEC as CH00
from rlhfbook.chapters.ch01_ppo_max.spec import SPEC as CH01
from rlhfbook.chapters.ch02_dpo_ranking.spec import SPEC as CH02
from rlhfbook.chapters.ch03_pf_ppo.spec import SPEC as CH03
from rlhfbook.chapters.ch04_reward_distance.spec import SPEC as CH04
from rlhfbook.chapters.ch05_strategic_games.spec import SPEC as CH05

SPECS = (CH00, CH01, CH02, CH03, CH04, CH05)
