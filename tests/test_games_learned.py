"""The player trained in the book: codec, reward, GRPO update, the cached recipe."""

import json

import numpy as np
import pytest
import torch

from rlhfbook.lm.rollout import rollout_from_ids, sequence_logprob
from rlhfbook.methods import grpo
from rlhfbook.methods.games import TurnBased, learned
from rlhfbook.methods.games.players import ScriptedReviser, Turn, league
from rlhfbook.methods.games.protocol import play_match


@pytest.fixture
def codec():
    return learned.Codec()


def _turn(game, side="defender", won=False, seed=0):
    rng = np.random.default_rng(seed)
    own, opp = (
        game.random_build(side, rng),
        game.random_build("invader" if side == "defender" else "defender", rng),
    )
    return Turn(game, side, 1, own, opp, side if won else "none", "", rng)


def test_context_and_answers_use_only_the_vocabulary(codec):
    tok = codec.tokenizer
    for seed in range(5):
        for side in ("defender", "invader"):
            turn = _turn(codec.game, side, seed=seed)
            new = codec.game.random_build(side, np.random.default_rng(seed + 10))
            for text in (
                codec.context(turn),
                codec.answer_tokens(turn.own_build, new, side),
            ):
                assert (
                    tok.unk_token_id
                    not in tok(text, add_special_tokens=False)["input_ids"]
                )
    first = Turn(codec.game, "invader", 0)
    assert codec.context(first) == "invader start none own none opp none hist none out"
    later = Turn(codec.game, "invader", 3, history=("won", "tie"))
    assert codec.context(later).endswith(" hist won tie out")
    assert codec.context(
        Turn(codec.game, "invader", 0, feedback="rejected")
    ).startswith("invader rejected")


def test_answers_decode_to_the_protocol_view(codec):
    game = codec.game
    turn = _turn(game)
    new = game.random_build("defender", np.random.default_rng(5))
    assert game.parse(
        "defender",
        codec.to_json(turn, codec.answer_tokens(turn.own_build, new, "defender")),
    ) == (
        new,
        [],
    )
    assert codec.answer_tokens(turn.own_build, turn.own_build, "defender") == "keep"
    assert json.loads(codec.to_json(turn, "keep")) == turn.own_build
    build, violations = game.parse("defender", codec.to_json(turn, "garbage"))
    assert build is None and "malformed JSON" in violations[0]
    # another element's skill, and a second Wood character, are rule violations, not errors
    text = codec.to_json(
        turn, "revise Wood Fire/Flame_Splash Wood/Bud_Healing Wood Wood/Life_Totem"
    )
    build, violations = game.validate("defender", json.loads(text))
    assert build == {"defenders": [{"element": "Wood", "skills": ["Bud Healing"]}]}
    assert any("unknown Wood skill" in v for v in violations) and any(
        "second Wood" in v for v in violations
    )
    # ... and what is left is one character: the protocol rejects the answer
    assert game.parse("defender", text) == (None, violations)
    assert codec.max_answer_tokens == 14


def test_match_reward_is_the_share_of_later_rounds_won():
    game = TurnBased()
    log = play_match(
        game,
        ScriptedReviser("p", quality=0.0),
        ScriptedReviser("q", 0.0, 0.0),
        rounds=6,
        seed=3,
    )
    for side in ("defender", "invader"):
        by_hand = np.mean([w == side for w in log["winner"].iloc[1:]])
        assert learned.match_reward(log, side) == pytest.approx(by_hand)
    assert learned.match_reward(log.iloc[:1], "defender") == 0.0


def test_turns_carry_the_matchs_history():
    game = TurnBased()
    seen = []

    class Spy(ScriptedReviser):
        def act(self, turn):
            seen.append(turn)
            return super().act(turn)

    log = play_match(
        game, Spy("p", quality=0.0), ScriptedReviser("q", 0.0, 0.0), rounds=4, seed=1
    )
    revisions = [t for t in seen if t.round > 0]
    assert [t.round for t in revisions] == [1, 3]  # the defender moves first
    for t in revisions:
        earlier = log["winner"].iloc[: t.round - 1]
        assert t.history == tuple(
            "won" if w == "defender" else "tie" if w == "none" else "lost"
            for w in earlier
        )
        assert t.last_winner == log["winner"].iloc[t.round - 1] and t.match == 0


def test_group_advantages():
    r = torch.tensor([1.0, 0.0, 1.0, 0.0, 2.0, 2.0, 2.0, 2.0])
    adv = grpo.group_advantages(r, 4)
    assert torch.allclose(adv.view(2, 4).mean(1), torch.zeros(2), atol=1e-6)
    assert torch.equal(
        adv[4:], torch.zeros(4)
    )  # a group whose answers all score alike teaches nothing
    assert adv[0] > 0 > adv[1]
    with pytest.raises(ValueError, match="groups of 3"):
        grpo.group_advantages(r, 3)


def test_demonstration_task(codec):
    task = learned.DemonstrationTask(
        [("a b", "keep"), ("a b", "revise"), ("c", "keep")]
    )
    rng = np.random.default_rng(0)
    prompts = task.sample_prompts(50, rng)
    assert set(prompts) == {"a b", "c"}
    assert {task.demonstration("a b", rng) for _ in range(30)} == {"keep", "revise"}
    with pytest.raises(ValueError, match="no demonstrations"):
        learned.DemonstrationTask([])


def test_demonstrations_are_the_scripted_players_turns(codec):
    pairs = learned.demonstrations(league(2)[:3], codec, n_matches=2, rounds=4, seed=0)
    # each match: two initial builds (at least one try each) and four revisions
    assert len(pairs) >= 2 * (2 + 4)
    assert all(a == "keep" or a.startswith("revise ") for _, a in pairs)
    assert all(c.endswith(" out") for c, _ in pairs)


def test_grpo_update_moves_probability_to_the_better_answer(codec):
    torch.manual_seed(0)
    model = learned.new_policy(codec, "tiny")
    ref = learned.new_policy(codec, "tiny")
    ref.load_state_dict(model.state_dict())
    tok = codec.tokenizer
    context = codec.context(_turn(codec.game))
    good, bad = (
        tok(a, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
        for a in ("keep", "revise Wood Wood/Bud_Healing")
    )
    rollout = rollout_from_ids(tok, [context] * 4, [good, bad, good, bad])
    before = sequence_logprob(model, rollout)
    cfg = learned.LeagueGRPOConfig(epochs=3, minibatch=4, lr=1e-2, kl_coef=0.0)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr)
    stats = grpo.grpo_update(
        model,
        ref,
        opt,
        rollout,
        grpo.group_advantages(torch.tensor([1.0, 0, 1, 0]), 4),
        cfg,
    )
    after = sequence_logprob(model, rollout)
    assert (after[0] - after[1]) > (before[0] - before[1]) + 0.1
    assert {"clip_frac", "approx_kl", "ratio", "kl_ref"} <= set(stats)


def test_recipe_is_validated():
    with pytest.raises(ValueError, match="early"):
        learned.Recipe(grpo=learned.LeagueGRPOConfig(iterations=3), early=3)


def test_trained_players_are_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("RLHFBOOK_CACHE", str(tmp_path))
    recipe = learned.Recipe(
        demo_matches=4,
        sft_steps=3,
        early=1,
        seed=0,
        grpo=learned.LeagueGRPOConfig(iterations=2, matches=2, group_size=2, rounds=4),
    )
    partners = league(2)[:4]
    players, record = learned.trained_players(
        recipe, partners, partners, progress=False
    )
    assert list(players) == list(learned.CHECKPOINTS) and not record["cached"]
    assert len(record["grpo_log"]) == 2 and record["demonstrations"] > 0
    assert all(
        row["states"] > 0 for row in record["grpo_log"]
    )  # each iteration met revision turns
    assert all(0 <= row["win"] <= 1 for row in record["grpo_log"])
    again, record2 = learned.trained_players(recipe, partners, partners, progress=False)
    assert record2["cached"] and len(list(tmp_path.rglob("*.pt"))) == 1
    for name in players:
        a, b = players[name].model.state_dict(), again[name].model.state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a)
    # a checkpoint plays a whole match through the protocol, violations and all
    log = play_match(TurnBased(), players["RL late"], partners[0], rounds=4, seed=0)
    assert len(log) == 5 and {"defender_violations", "invader_violations"} <= set(
        log.columns
    )
