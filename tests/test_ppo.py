import numpy as np
import pytest
import torch
from transformers import AutoModelForSequenceClassification

from rlhfbook.book.profiles import _TABLE as TABLE
from rlhfbook.lm import memory
from rlhfbook.lm.rollout import generate, rollout_from_ids
from rlhfbook.methods import ppo
from rlhfbook.tasks.toyworld import build_tokenizer, new_model
from rlhfbook.tasks.toyworld.model import model_config


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def _random_episode(rng, batch=6, width=7):
    lengths = rng.integers(1, width + 1, size=batch)
    mask = torch.tensor(
        np.arange(width)[None, :] < lengths[:, None], dtype=torch.float32
    )
    rewards = torch.tensor(rng.normal(size=(batch, width)), dtype=torch.float32) * mask
    values = torch.tensor(rng.normal(size=(batch, width)), dtype=torch.float32) * mask
    return rewards, values, mask, lengths


def test_gae_lambda_zero_is_the_td_error(rng):
    rewards, values, mask, _ = _random_episode(rng)
    adv, ret = ppo.gae(rewards, values, mask, gamma=0.9, lam=0.0)
    next_values = torch.cat(
        [values[:, 1:], torch.zeros_like(values[:, :1])], 1
    ) * torch.cat([mask[:, 1:], torch.zeros_like(mask[:, :1])], 1)
    torch.testing.assert_close(adv, (rewards + 0.9 * next_values - values) * mask)
    torch.testing.assert_close(ret, adv + values)


def test_gae_lambda_one_is_the_monte_carlo_return_minus_the_value(rng):
    rewards, values, mask, lengths = _random_episode(rng)
    gamma = 0.8
    adv, _ = ppo.gae(rewards, values, mask, gamma=gamma, lam=1.0)
    for b, n in enumerate(lengths):
        for t in range(n):
            mc = sum(gamma**k * rewards[b, t + k].item() for k in range(n - t))
            assert adv[b, t].item() == pytest.approx(mc - values[b, t].item(), abs=1e-5)
        assert (adv[b, n:] == 0).all()


def test_gae_matches_a_plain_loop(rng):
    rewards, values, mask, lengths = _random_episode(rng, batch=10, width=9)
    gamma, lam = 0.97, 0.9
    adv, ret = ppo.gae(rewards, values, mask, gamma=gamma, lam=lam)
    for b, n in enumerate(lengths):
        r, v = rewards[b, :n].tolist(), values[b, :n].tolist() + [0.0]
        last = 0.0
        for t in reversed(range(n)):
            last = r[t] + gamma * v[t + 1] - v[t] + gamma * lam * last
            assert adv[b, t].item() == pytest.approx(last, abs=1e-5)
            assert ret[b, t].item() == pytest.approx(last + v[t], abs=1e-5)
    with pytest.raises(ValueError, match="equal shapes"):
        ppo.gae(rewards, values[:, :-1], mask)


def test_running_moments_equal_numpy_on_the_concatenated_batches(rng):
    moments = ppo.RunningMoments()
    batches = [rng.normal(3.0, 2.0, size=n) for n in (1, 5, 17, 2)]
    for x in batches:
        moments.update(torch.tensor(x))
    all_x = np.concatenate(batches)
    assert moments.count == all_x.size
    assert moments.mean == pytest.approx(all_x.mean())
    assert moments.var == pytest.approx(all_x.var())
    with pytest.raises(ValueError, match="non-empty"):
        moments.update(np.array([]))


def test_masked_whiten_has_zero_mean_unit_variance_on_the_mask(rng):
    _, values, mask, _ = _random_episode(rng, batch=8, width=6)
    w = ppo.masked_whiten(values * 3 + 1, mask)
    assert ppo.masked_mean(w, mask).item() == pytest.approx(0.0, abs=1e-6)
    assert ppo.masked_var(w, mask).item() == pytest.approx(1.0, abs=1e-4)
    assert (w[mask == 0] == 0).all()


def test_masked_whiten_without_shift_keeps_the_mean_and_rescales_the_spread(rng):
    _, values, mask, _ = _random_episode(rng, batch=8, width=6)
    x = values * 3 + 1
    w = ppo.masked_whiten(x, mask, shift_mean=False)
    mean = ppo.masked_mean(x, mask).item()
    assert ppo.masked_mean(w, mask).item() == pytest.approx(mean, abs=1e-5)
    assert ppo.masked_var(w, mask).item() == pytest.approx(1.0, abs=1e-4)
    # the docstring once promised every sign kept; centring and adding the mean back does not
    assert ((w * x)[mask == 1] < 0).any()


def test_kl_estimators_are_unbiased_and_k3_is_nonnegative():
    p = torch.tensor([0.5, 0.3, 0.2])
    q = torch.tensor([0.2, 0.5, 0.3])
    exact = (p * (p / q).log()).sum()
    logp, logq = p.log(), q.log()
    assert (p * ppo.kl_k1(logp, logq)).sum().item() == pytest.approx(
        exact.item(), abs=1e-6
    )
    assert (p * ppo.kl_k3(logp, logq)).sum().item() == pytest.approx(
        exact.item(), abs=1e-6
    )
    assert (ppo.kl_k3(logp, logq) >= 0).all()


def test_clipped_losses_closed_forms():
    mask = torch.ones(1, 3)
    adv = torch.tensor([[1.0, 1.0, -1.0]])
    old = torch.zeros(1, 3)
    logp = torch.log(torch.tensor([[1.5, 0.9, 0.5]]))
    loss, stats = ppo.policy_loss(logp, old, adv, mask, clip=0.2)
    # min(rho A, clip(rho) A): 1.2 (clipped), 0.9, -0.8 (clipped) -> loss = -(1.2 + 0.9 - 0.8) / 3
    assert loss.item() == pytest.approx(-(1.2 + 0.9 - 0.8) / 3)
    assert stats["clip_frac"] == pytest.approx(2 / 3)
    values, old_v, ret = (
        torch.tensor([[1.0]]),
        torch.tensor([[0.0]]),
        torch.tensor([[2.0]]),
    )
    assert ppo.value_loss(
        values, old_v, ret, torch.ones(1, 1), clip=None
    ).item() == pytest.approx(0.5)
    assert ppo.value_loss(
        values, old_v, ret, torch.ones(1, 1), clip=0.2
    ).item() == pytest.approx(0.5 * 1.8**2)


def test_token_rewards_put_the_score_on_the_last_token():
    mask = torch.tensor([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    logp, ref = torch.full((2, 3), -1.0), torch.full((2, 3), -2.0)
    r = ppo.token_rewards(torch.tensor([3.0, 5.0]), logp, ref, mask, kl_coef=0.1)
    torch.testing.assert_close(r, torch.tensor([[-0.1, 2.9, 0.0], [4.9, 0.0, 0.0]]))


def test_config_rejects_bad_settings():
    with pytest.raises(ValueError, match="minibatches"):
        ppo.PPOConfig(prompts_per_iteration=10, minibatches=3)
    with pytest.raises(ValueError, match="kl_coef"):
        ppo.PPOConfig(kl_coef=-1)
    with pytest.raises(ValueError, match="critic_warmup"):
        ppo.PPOConfig(iterations=3, critic_warmup=3)


def _tiny_models(seed=0):
    tok = build_tokenizer()
    torch.manual_seed(seed)
    policy = new_model("tiny", tok).eval()
    ref = new_model("tiny", tok).eval()
    ref.load_state_dict(policy.state_dict())
    config = model_config("tiny", tok)
    config.num_labels = 1
    critic = AutoModelForSequenceClassification.from_config(config).eval()
    return tok, policy, ref, critic


def test_first_epoch_ratio_is_exactly_one_and_approx_kl_zero():
    tok, policy, ref, critic = _tiny_models()
    torch.manual_seed(1)
    rollout = generate(
        policy, tok, ["food: ", "a: ", "long prompt: "] * 2, max_new_tokens=10
    )
    cfg = ppo.PPOConfig(
        iterations=2, critic_warmup=0, epochs=1, minibatches=2, prompts_per_iteration=6
    )
    batch, _ = ppo.make_batch(
        policy, ref, critic, rollout, torch.randn(6), cfg, ppo.RunningMoments()
    )
    opt = torch.optim.AdamW(policy.parameters(), lr=1e-3)
    copt = torch.optim.AdamW(critic.parameters(), lr=1e-3)
    stats = ppo.update(policy, critic, batch, cfg, opt, copt)
    assert stats["first_ratio"] == 1.0
    assert stats["first_approx_kl"] == 0.0


def _emit_token_reward(tok, char="e"):
    target = tok.convert_tokens_to_ids(char)

    def reward(rollout):
        hits = (
            ((rollout.response_ids == target) & (rollout.response_mask == 1))
            .float()
            .sum(1)
        )
        return hits / rollout.lengths.clamp(min=1)

    return reward


def test_short_ppo_run_on_a_trivial_task_raises_the_reward():
    tok, policy, ref, critic = _tiny_models()
    reward = _emit_token_reward(tok)
    cfg = ppo.PPOConfig(
        iterations=16,
        prompts_per_iteration=16,
        max_new_tokens=8,
        lr=1e-2,
        critic_lr=1e-2,
        kl_coef=0.0,
        critic_warmup=1,
    )
    log = ppo.train(
        policy,
        ref,
        critic,
        tok,
        lambda n, rng: ["x: "] * n,
        reward,
        cfg,
        seed=0,
        progress=False,
    )
    first = np.mean([row["proxy_reward"] for row in log[:3]])
    last = np.mean([row["proxy_reward"] for row in log[-3:]])
    assert last > first + 0.2, (first, last)
    assert log[0]["policy_updated"] == 0 and log[0]["backward_samples"] == 0
    assert log[-1]["backward_samples"] == 15 * 16 * cfg.epochs


def test_select_hook_and_group_size_decide_what_enters_the_update():
    tok, policy, ref, critic = _tiny_models()
    seen = []

    def best_of_group(rollout, scores, group_size):
        seen.append((len(rollout), group_size, rollout.prompts[:group_size]))
        return scores.view(-1, group_size).argmax(1) + torch.arange(
            0, len(rollout), group_size
        )

    cfg = ppo.PPOConfig(
        iterations=2,
        prompts_per_iteration=3,
        group_size=4,
        max_new_tokens=6,
        critic_warmup=0,
        epochs=2,
    )
    log = ppo.train(
        policy,
        ref,
        critic,
        tok,
        lambda n, rng: [f"{i}: " for i in rng.integers(9, size=n)],
        _emit_token_reward(tok),
        cfg,
        progress=False,
        select=best_of_group,
    )
    assert (
        seen[0][:2] == (12, 4) and len(set(seen[0][2])) == 1
    )  # samples of a prompt are adjacent
    assert [row["samples"] for row in log] == [12, 12]
    assert [row["updated_samples"] for row in log] == [3, 3]
    assert (
        log[-1]["backward_samples"] == log[-1]["critic_backward_samples"] == 2 * 3 * 2
    )


def test_ptx_needs_data():
    tok, policy, ref, critic = _tiny_models()
    with pytest.raises(ValueError, match="ptx_batch"):
        ppo.train(
            policy,
            ref,
            critic,
            tok,
            lambda n, rng: ["x: "] * n,
            _emit_token_reward(tok),
            ppo.PPOConfig(iterations=1, critic_warmup=0, ptx_coef=0.1),
            progress=False,
        )


# --- micro-batches and mixed precision ---------------------------------------------------


def _uneven_rollout(tok):
    """Six responses of 2 to 8 tokens, each ending in EOS: the micro-batches' token counts differ."""
    g = torch.Generator().manual_seed(3)
    responses = [
        torch.randint(5, 60, (n,), generator=g).tolist() + [tok.eos_token_id]
        for n in (1, 3, 7, 4, 2, 6)
    ]
    return rollout_from_ids(tok, ["food: ", "a: ", "long prompt: "] * 2, responses)


def _one_update(precision=None, ptx=False, **overrides):
    """make_batch + update on fresh tiny models; returns (make_batch stats | update stats, policy, critic)."""
    tok, policy, ref, critic = _tiny_models()
    rollout = _uneven_rollout(tok)
    cfg = ppo.PPOConfig(
        **(
            dict(
                iterations=2,
                critic_warmup=0,
                epochs=1,
                prompts_per_iteration=6,
                ptx_coef=0.1 * ptx,
            )
            | overrides
        )
    )
    ids = torch.randint(5, 60, (3, 5), generator=torch.Generator().manual_seed(4))
    torch.manual_seed(1)
    batch, stats = ppo.make_batch(
        policy,
        ref,
        critic,
        rollout,
        torch.linspace(-1, 1, 6),
        cfg,
        ppo.RunningMoments(),
        precision=precision,
    )
    opt = torch.optim.AdamW(policy.parameters(), lr=1e-3)
    copt = torch.optim.AdamW(critic.parameters(), lr=1e-3)
    ptx_batch = (lambda: (ids, torch.ones_like(ids), ids)) if ptx else None
    stats |= ppo.update(
        policy, critic, batch, cfg, opt, copt, ptx_batch=ptx_batch, precision=precision
    )
    return stats, policy, critic


def _grads(model):
    return [p.grad.clone() for p in model.parameters() if p.grad is not None]


@pytest.mark.parametrize("minibatches, ptx", [(1, False), (2, False), (1, True)])
def test_micro_batches_give_the_gradients_parameters_and_diagnostics_of_one_pass(
    minibatches, ptx
):
    """Loop reference: the same step taken in one pass and in chunks of 1, 2, 3 and 4 rows (4: an
    uneven split; responses of unequal lengths, so per-row or per-chunk means would differ)."""
    ref_stats, ref_policy, ref_critic = _one_update(minibatches=minibatches, ptx=ptx)
    assert ref_stats["first_ratio"] == 1.0
    for micro_batch in (1, 2, 3, 4):
        stats, policy, critic = _one_update(
            minibatches=minibatches, ptx=ptx, micro_batch=micro_batch
        )
        assert stats.keys() == ref_stats.keys()
        for key, value in ref_stats.items():
            assert stats[key] == pytest.approx(value, rel=1e-5, abs=1e-6), (
                micro_batch,
                key,
            )
        for model, ref_model in ((policy, ref_policy), (critic, ref_critic)):
            torch.testing.assert_close(
                _grads(model), _grads(ref_model), rtol=1e-5, atol=1e-6
            )
            # AdamW's first step is lr * g / (|g| + eps): a 1e-6 change of a gradient near eps moves it by ~1e-6
            torch.testing.assert_close(
                list(model.parameters()),
                list(ref_model.parameters()),
                rtol=1e-5,
                atol=1e-5,
            )


def test_micro_batch_of_at_least_the_batch_is_bitwise_the_single_pass():
    """The default (None) is the code path of the cpu and smoke profiles; a fixed-seed train()
    log of this configuration was also compared bitwise with the code before micro-batches."""
    logs, params = [], []
    for micro_batch in (None, 8):
        tok, policy, ref, critic = _tiny_models()
        cfg = ppo.PPOConfig(
            iterations=3,
            prompts_per_iteration=8,
            max_new_tokens=8,
            lr=1e-2,
            critic_warmup=1,
            micro_batch=micro_batch,
        )
        log = ppo.train(
            policy,
            ref,
            critic,
            tok,
            lambda n, rng: ["x: "] * n,
            _emit_token_reward(tok),
            cfg,
            progress=False,
        )
        logs.append(
            [
                {
                    k: v
                    for k, v in row.items()
                    if not k.endswith("_s") and k != "seconds"
                }
                for row in log
            ]
        )
        params.append(torch.cat([p.detach().ravel() for p in policy.parameters()]))
    assert str(logs[1]) == str(logs[0])  # str: NaN == NaN
    assert torch.equal(params[0], params[1])


def test_bfloat16_autocast_runs_the_forward_passes_in_bf16_with_fp32_weights():
    dtypes, vocab = [], len(build_tokenizer())
    handle = torch.nn.modules.module.register_module_forward_hook(  # the dtype of every LM-head output
        lambda module, args, out: (
            dtypes.append(out.dtype)
            if isinstance(module, torch.nn.Linear) and module.out_features == vocab
            else None
        )
    )
    try:
        bf16_stats, policy, critic = _one_update(
            precision=ppo.Precision.create("bfloat16", "cpu")
        )
    finally:
        handle.remove()
    fp32_stats, fp32_policy, _ = _one_update()
    assert dtypes and set(dtypes) == {torch.bfloat16}
    assert all(
        p.dtype == torch.float32 and p.isfinite().all()
        for p in [*policy.parameters(), *critic.parameters()]
    )
    assert (
        bf16_stats["first_ratio"] == 1.0
    )  # rollout and update log-probs: the same bf16 pass
    for key in ("value_loss", "entropy", "perplexity"):
        assert np.isfinite(bf16_stats[key])
        assert bf16_stats[key] == pytest.approx(fp32_stats[key], rel=0.05), key
    assert any(
        not torch.equal(p, q)
        for p, q in zip(policy.parameters(), fp32_policy.parameters())
    )


def _scaled_precision(init_scale):
    scalers = [torch.amp.GradScaler("cpu", init_scale=init_scale) for _ in range(2)]
    return ppo.Precision(torch.float16, "cpu", *scalers)


def test_float16_autocast_scales_the_losses_and_unscales_the_gradients():
    """fp16 on the CPU (torch's CPU autocast and GradScaler("cpu")): with a scale of 2^8 the step is
    taken on the gradients unscaled before clipping (close to fp32's); with 2^40 the fp16 gradients overflow, so
    the step is skipped (parameters as they were) and the scale is halved."""
    assert ppo.Precision.create("float16", "cpu").policy_scaler.is_enabled()
    fp32_stats, fp32_policy, fp32_critic = _one_update()
    precision = _scaled_precision(2.0**8)
    stats, policy, critic = _one_update(
        precision=precision
    )  # clipped after unscaling, as fp32 is
    for model, ref in ((policy, fp32_policy), (critic, fp32_critic)):
        norm = torch.linalg.vector_norm(torch.cat([g.ravel() for g in _grads(model)]))
        ref_norm = torch.linalg.vector_norm(torch.cat([g.ravel() for g in _grads(ref)]))
        assert norm.item() == pytest.approx(ref_norm.item(), rel=0.05)
    assert (
        precision.policy_scaler.get_scale()
        == precision.critic_scaler.get_scale()
        == 2.0**8
    )
    assert stats["value_loss"] == pytest.approx(fp32_stats["value_loss"], rel=0.05)

    _, untouched, *_ = _tiny_models()
    overflow = _scaled_precision(2.0**40)
    _, policy, critic = _one_update(precision=overflow)
    assert all(
        torch.equal(p, q) for p, q in zip(policy.parameters(), untouched.parameters())
    )
    assert (
        overflow.policy_scaler.get_scale()
        == overflow.critic_scaler.get_scale()
        == 2.0**39
    )


def test_precision_of_the_config():
    """ "auto" is fp32 without autocast on a CPU; an explicit dtype turns autocast on, and only fp16
    scales the loss."""
    auto = ppo.Precision.create("auto", "cpu")
    assert (
        auto.dtype is None
        and not auto.policy_scaler.is_enabled()
        and not auto.critic_scaler.is_enabled()
    )
    assert ppo.Precision.create(None, "cpu").dtype is None
    bf16 = ppo.Precision.create("bfloat16", "cpu")
    assert bf16.dtype == torch.bfloat16 and not bf16.policy_scaler.is_enabled()
    with bf16.autocast():
        assert torch.nn.Linear(2, 2)(torch.ones(1, 2)).dtype == torch.bfloat16
    with pytest.raises(ValueError, match="micro_batch must be None or >= 1"):
        ppo.PPOConfig(micro_batch=0)
    with pytest.raises(
        ValueError,
        match="autocast='fp8'; valid: 'auto', 'bfloat16', 'float16', 'float32', None",
    ):
        ppo.PPOConfig(autocast="fp8")


def test_logits_bytes_and_the_gpu_profiles_micro_batches():
    """14 bytes per logit in fp16/bf16 (the logits + 3 fp32 tensors of their size), 16 in fp32 (an RSS
    measurement of token_logprobs' forward + backward on CPU gave 14.3 and 16.2). The gpu profiles of
    chapters 1 and 3 keep one pass of a Qwen2.5 policy (151,936 tokens) with a 512-token prompt under
    4.5 GB of logits, against 64 x 768 x 151,936 x 16 B = 120 GB for chapter 3's full fp32 batch."""
    assert memory.logits_bytes(2, 3, 5, torch.float16) == 2 * 3 * 5 * 14
    assert memory.logits_bytes(2, 3, 5, torch.float32) == 2 * 3 * 5 * 16
    for chapter in ("01_ppo_max", "03_pf_ppo"):
        P = TABLE[chapter]["gpu"]
        assert (
            TABLE[chapter]["cpu"].micro_batch is None
            and TABLE[chapter]["smoke"].micro_batch is None
        )
        assert (
            memory.logits_bytes(
                P.micro_batch, 512 + P.max_new_tokens, 151_936, torch.float16
            )
            < 4.5e9
        ), chapter


def test_config_fields_takes_every_ppo_setting_a_chapter_declares():
    """Settings become a PPOConfig in one place: every field the two PPO chapters share with PPOConfig
    reaches it, a changed setting changes the config, and a setting PPOConfig lacks stays out."""
    from dataclasses import fields, replace

    names = {f.name for f in fields(ppo.PPOConfig)}
    for chapter in ("01_ppo_max", "03_pf_ppo"):
        P = TABLE[chapter]["cpu"]
        cfg = ppo.config_fields(P)
        assert set(cfg) == names & {f.name for f in fields(P)} and len(cfg) >= 12
        assert (
            ppo.config_fields(replace(P, epochs=P.epochs + 3))["epochs"] == P.epochs + 3
        )
        assert "n_seeds" not in cfg and ppo.PPOConfig(**cfg).epochs == P.epochs
