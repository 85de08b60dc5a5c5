"""LoRA (rlhfbook.lm.lora, peft's layers): Eq. 3 of Hu et al. (2021) against its closed form, what trains,
and PPO with adapters."""

import copy

import numpy as np
import pytest
import torch
from test_ppo import _emit_token_reward, _tiny_models
from transformers import GPT2Config, GPT2LMHeadModel

from rlhfbook.lm import lora
from rlhfbook.methods import ppo


def test_adapted_linear_is_the_base_plus_the_scaled_low_rank_product():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 5))
    base = copy.deepcopy(model[0])
    lora.add_adapters(model, rank=2, alpha=8.0)
    layer = model[0]
    x = torch.randn(3, 6)
    assert torch.equal(layer(x), base(x))  # B = 0: exactly the pretrained layer
    a, b = layer.lora_A["default"].weight, layer.lora_B["default"].weight
    with torch.no_grad():
        b.normal_()
    w = base.weight + (8.0 / 2) * b @ a  # W0 + (alpha / r) B A
    torch.testing.assert_close(layer(x), x @ w.T + base.bias)
    assert (
        not layer.base_layer.weight.requires_grad
        and a.requires_grad
        and b.requires_grad
    )
    with lora.disabled(model):
        assert torch.equal(layer(x), base(x))


def test_adapters_leave_the_model_unchanged_and_train_only_low_rank_factors_and_the_head():
    tok, policy, _, critic = _tiny_models()
    ids = tok(["food: good"], return_tensors="pt").input_ids
    before, value_before = policy(ids).logits, critic(ids).logits
    linears = {
        n: m
        for n, m in policy.named_modules()
        if isinstance(m, torch.nn.Linear) and n != "lm_head"
    }
    n_policy = lora.add_adapters(policy, rank=4, alpha=8.0)
    n_critic = lora.add_adapters(critic, rank=4, alpha=8.0, train=("score",))
    assert n_policy == sum(
        4 * (m.in_features + m.out_features) for m in linears.values()
    )
    assert n_critic == n_policy + critic.score.weight.numel()
    assert torch.equal(policy(ids).logits, before) and torch.equal(
        critic(ids).logits, value_before
    )
    names = {n for n, p in policy.named_parameters() if p.requires_grad}
    assert names and all(".lora_A." in n or ".lora_B." in n for n in names)
    assert isinstance(policy.lm_head, torch.nn.Linear) and isinstance(
        critic.score, torch.nn.Linear
    )  # the heads are not adapted
    assert lora.trainable(critic)[-1] is critic.score.weight


def test_a_model_without_linear_blocks_or_a_rank_below_one_is_refused():
    gpt2 = GPT2LMHeadModel(
        GPT2Config(n_layer=1, n_embd=8, n_head=2, vocab_size=16, n_positions=8)
    )
    with pytest.raises(ValueError, match="no nn.Linear layer to adapt"):
        lora.add_adapters(gpt2, rank=4, alpha=8.0)
    with pytest.raises(ValueError, match="lora_rank"):
        ppo.PPOConfig(lora_rank=0)
    with (
        pytest.raises(ValueError, match="no adapters to switch off"),
        lora.disabled(gpt2),
    ):
        pass
    tok, policy, _, critic = _tiny_models()
    with pytest.raises(ValueError, match="ref_policy=None needs lora_rank"):
        ppo.train(
            policy,
            None,
            critic,
            tok,
            lambda n, rng: ["x: "] * n,
            len,
            ppo.PPOConfig(iterations=1, critic_warmup=0),
        )


def _emit_task(embedding_scale: float = 10.0, **overrides):
    """Tiny models (embeddings scaled by ``embedding_scale``) and the PPO config of the emit-a-token
    task that adapters alone learn: returns tok, policy, ref, critic, cfg."""
    tok, policy, ref, critic = _tiny_models()
    with torch.no_grad():
        for model in (policy, ref):
            model.get_input_embeddings().weight.mul_(embedding_scale)
    settings = dict(
        iterations=24,
        prompts_per_iteration=16,
        max_new_tokens=8,
        lr=3e-2,
        critic_lr=3e-2,
        kl_coef=0.0,
    )
    return (
        tok,
        policy,
        ref,
        critic,
        ppo.PPOConfig(**settings | dict(critic_warmup=1, lora_rank=4) | overrides),
    )


def _train(tok, policy, critic, cfg):
    """ppo.train on the emit task, pi_SFT being the policy with its adapters off (no reference copy)."""
    reward = _emit_token_reward(tok)
    return ppo.train(
        policy,
        None,
        critic,
        tok,
        lambda n, rng: ["x: "] * n,
        reward,
        cfg,
        seed=0,
        progress=False,
    )


@pytest.mark.parametrize(
    "autocast, micro_batch, lr", [("auto", None, 3e-2), ("float16", 4, 1e-2)]
)
def test_ppo_with_adapters_raises_the_reward_and_leaves_the_pretrained_weights_untouched(
    monkeypatch, autocast, micro_batch, lr
):
    """A random tiny model's logits are nearly uniform, and with its embeddings and final norm frozen
    no adapter can make them confident (supervised, p(token) stops at 0.02); tenfold embeddings give
    the confident output layer of a pretrained model, from which adapters alone learn the task.
    AdamW holds two moments of the trainable parameters only, and the frozen ones get no gradient:
    the 4 + 12 bytes per parameter that rlhfbook.lm.memory counts. The second case is a T4's gpu
    profile: fp16 autocast with loss scaling (torch's CPU autocast and GradScaler) in micro-batches, at
    a third of the rate, under which the activations stay within fp16's range (at 3e-2 they do not:
    test_an_fp16_overflow_stops_ppo_with_one_clear_error)."""
    optimisers = []
    adamw = torch.optim.AdamW
    monkeypatch.setattr(
        torch.optim,
        "AdamW",
        lambda params, **kw: optimisers.append(adamw(params, **kw)) or optimisers[-1],
    )
    tok, policy, ref, critic, cfg = _emit_task(
        lr=lr, critic_lr=lr, autocast=autocast, micro_batch=micro_batch
    )
    frozen = {n: p.detach().clone() for n, p in policy.named_parameters()}
    log = _train(tok, policy, critic, cfg)
    assert (
        log[0]["kl"] == 0.0 and log[-1]["kl"] > 0
    )  # exactly the SFT policy before the first update
    with lora.disabled(policy):
        ids = tok(["x: e"], return_tensors="pt").input_ids
        torch.testing.assert_close(policy(ids).logits, ref(ids).logits, rtol=0, atol=0)
    first = np.mean([row["proxy_reward"] for row in log[:3]])
    last = np.mean([row["proxy_reward"] for row in log[-3:]])
    assert last > first + 0.2, (first, last)
    for name, p in policy.named_parameters():
        key = name.replace(".base_layer.", ".")
        if key in frozen:
            assert torch.equal(p, frozen[key]), name
    assert any(
        p.abs().sum() > 0 for n, p in policy.named_parameters() if ".lora_B." in n
    )
    for model, opt in zip((policy, critic), optimisers, strict=True):
        moments = sum(
            t.numel()
            for state in opt.state.values()
            for k, t in state.items()
            if k != "step"
        )
        assert moments == 2 * sum(p.numel() for p in lora.trainable(model))
        assert all(p.grad is None for p in model.parameters() if not p.requires_grad)


@pytest.mark.parametrize(
    "embedding_scale, where",
    [(10.0, "loss scale fell below 1"), (1.0, "sampling in fp16")],
)
def test_an_fp16_overflow_stops_ppo_with_one_clear_error(embedding_scale, where):
    """At 3e-2 the adapters grow the activations past fp16's 65,504 (in fp32 the run learns): the
    overflow is in the forward pass, so loss scaling halves the scale at every step, or sampling
    meets inf / NaN probabilities. Either stops the run with the fp16 advice, not a silent stall
    (every step skipped) or torch's multinomial error."""
    from rlhfbook.core import runtime

    tok, policy, _, critic, cfg = _emit_task(embedding_scale, autocast="float16")
    with pytest.raises(
        runtime.HalfPrecisionOverflow, match=f"{where}.*run on a GPU with bfloat16"
    ) as error:
        _train(tok, policy, critic, cfg)
    assert "\n" not in str(error.value)


def test_with_adapters_under_16_bit_autocast_ppo_stores_the_frozen_weights_in_16_bits(
    monkeypatch,
):
    """A GPU's path on this CPU (dtype_for answering bfloat16 for frozen models, as on an A100):
    the frozen weights of policy and critic are stored in bfloat16 (2 bytes each), the adapters and
    the value head train in fp32, pi_SFT is still exactly the policy before its first update, and
    the reward rises."""
    from rlhfbook.core import runtime

    monkeypatch.setattr(
        runtime,
        "dtype_for",
        lambda device, trainable=False: torch.float32 if trainable else torch.bfloat16,
    )
    tok, policy, _, critic, cfg = _emit_task(autocast="bfloat16")
    log = _train(tok, policy, critic, cfg)
    for model in (policy, critic):
        dtypes = {p.requires_grad: set() for p in model.parameters()}
        for p in model.parameters():
            dtypes[p.requires_grad].add(p.dtype)
        assert dtypes == {False: {torch.bfloat16}, True: {torch.float32}}
    assert critic.score.weight.requires_grad
    assert log[0]["kl"] == 0.0
    first = np.mean([row["proxy_reward"] for row in log[:3]])
    last = np.mean([row["proxy_reward"] for row in log[-3:]])
    assert last > first + 0.2, (first, last)
