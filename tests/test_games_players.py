"""Players: scripted revisers, the transformers LLM player, the OpenAI-compatible endpoint player."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import numpy as np
import pytest

from rlhfbook.methods.games import TowerDefense, TurnBased
from rlhfbook.methods.games.players import (
    EndpointPlayer,
    LLMPlayer,
    ScriptedReviser,
    Turn,
    draw_league,
    fixed_opponents,
    league,
    prompt,
)
from rlhfbook.methods.games.protocol import play_match


def _turn(game, side="defender", won=False, seed=0):
    rng = np.random.default_rng(seed)
    own, opp = (
        game.random_build(side, rng),
        game.random_build("invader" if side == "defender" else "defender", rng),
    )
    return Turn(game, side, 1, own, opp, side if won else "none", "", rng)


def test_knobs_are_validated():
    with pytest.raises(ValueError, match="quality must be a probability"):
        ScriptedReviser("x", quality=1.5)
    with pytest.raises(ValueError, match="n_candidates"):
        ScriptedReviser("x", n_candidates=0)
    assert (
        len(league()) == 12
        and len({p.name for p in league()}) == 12
        and len(fixed_opponents()) == 3
    )


def test_reviser_behaviour():
    game = TurnBased()
    turn = _turn(game)
    assert json.loads(ScriptedReviser("never", 0.0, 0.0).act(turn)) == turn.own_build
    best = ScriptedReviser("best", 1.0, 0.0, quality=1.0, n_candidates=8).build(
        _turn(game)
    )
    margin = game.simulate(best, turn.opponent_build).margin
    assert margin >= game.simulate(turn.own_build, turn.opponent_build).margin
    slipped = ScriptedReviser("slip", 1.0, 0.0, quality=0.0, slip=1.0).build(
        _turn(game)
    )
    assert game.over_budget("defender", slipped)


def test_drawn_league_stays_within_the_prior_around_each_family():
    families = league()
    draws = [draw_league(0.15, np.random.default_rng(s)) for s in range(40)]
    for i, family in enumerate(families):
        for knob in ("p_revise_loss", "p_revise_win", "quality", "slip"):
            values = np.array([getattr(d[i], knob) for d in draws])
            centre = getattr(family, knob)
            assert (values >= max(0.0, centre - 0.15) - 1e-12).all()
            assert (values <= min(1.0, centre + 0.15) + 1e-12).all()
            assert len(set(values)) > 10  # drawn, not fixed
        for knob in ("name", "planning", "fresh", "n_candidates"):
            assert {getattr(d[i], knob) for d in draws} == {getattr(family, knob)}
    # a family at 0 stays there about half the time (the clipped half of the uniform)
    at_zero = np.mean([d[0].p_revise_win == 0.0 for d in draws])
    assert 0.3 < at_zero < 0.7
    # the generator decides the draw; spread 0 gives the families themselves
    again = draw_league(0.15, np.random.default_rng(3))
    assert again == draws[3] and draws[3] != draws[4]
    assert draw_league(0.0, np.random.default_rng(0)) == families


def test_prompt_carries_rules_budget_and_key():
    game = TowerDefense()
    text = prompt(_turn(game, side="invader"))
    assert (
        "Demon" in text
        and "1500" in text
        and '"demons"' in text
        and "Opponent JSON" in text
    )


def _tiny_llm():
    import torch
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    chars = [chr(i) for i in range(32, 127)] + ["\n"]
    vocab = {
        "<pad>": 0,
        "<eos>": 1,
        "<unk>": 2,
        **{c: i + 3 for i, c in enumerate(chars)},
    }
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>", unk_token="<unk>"
    )
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=256,
        pad_token_id=0,
        eos_token_id=1,
        bos_token_id=1,
    )
    return LlamaForCausalLM(config).eval(), tokenizer


def test_untrained_llm_player_completes_a_match_with_violations():
    model, tokenizer = _tiny_llm()
    player = LLMPlayer(
        model, tokenizer, name="tiny", max_new_tokens=12, max_prompt_tokens=64
    )
    log = play_match(
        TurnBased(), player, fixed_opponents()[0], rounds=2, first="defender", seed=0
    )
    assert len(log) == 3 and (log["defender_violations"] > 0).all()
    assert len(player.transcript) == 5 + 1  # 5 initial attempts, 1 revision
    assert all(isinstance(answer, str) for _, answer in player.transcript)


class _Handler(BaseHTTPRequestHandler):
    answer = ""

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        assert body["messages"][0]["role"] == "user"
        reply = json.dumps(
            {"choices": [{"message": {"content": self.answer}}]}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = HTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def test_endpoint_player_round_trip(server):
    game = TurnBased()
    build = {
        "defenders": [
            {
                "element": "Wood",
                "skills": ["Bud Healing", "Life Totem", "Natural Purification"],
            },
            {"element": "Earth", "skills": ["Rock Armor", "Earth Shock", "Rock Armor"]},
            {"element": "Light", "skills": ["Holy Glimmer"] * 3},
        ]
    }
    _Handler.answer = f"Here you go:\n```json\n{json.dumps(build)}\n```"
    player = EndpointPlayer(
        f"http://127.0.0.1:{server.server_port}/v1", model="any", api_key="k"
    )
    assert game.parse("defender", player.act(_turn(game))) == (build, [])
    _Handler.answer = "no idea"
    log = play_match(game, player, fixed_opponents()[0], rounds=2, seed=0)
    assert (log["defender_violations"] > 0).all()


def test_endpoint_errors_are_violations_not_crashes():
    player = EndpointPlayer("http://127.0.0.1:9/v1", model="any", timeout_s=2)
    answer = player.act(_turn(TurnBased()))
    assert answer.startswith("<endpoint error")
    assert TurnBased().parse("defender", answer)[0] is None


def test_llm_player_answers_a_batch_of_turns():
    model, tokenizer = _tiny_llm()
    player = LLMPlayer(
        model,
        tokenizer,
        name="tiny",
        max_new_tokens=4,
        max_prompt_tokens=48,
        batch_size=2,
    )
    game = TurnBased()
    turns = [_turn(game, seed=s) for s in range(3)]
    answers = player.act_batch(turns)
    assert len(answers) == 3 and all(isinstance(a, str) for a in answers)
    assert len(player.transcript) == 3 and tokenizer.padding_side == "left"
