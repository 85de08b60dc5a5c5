import numpy as np
import pytest
import torch

import rlhfbook  # noqa: F401  (switches the hub offline before transformers is imported)
from rlhfbook import dpo_training as dt
from rlhfbook import ranking as rk
from rlhfbook import toyworld
from rlhfbook.models import load_policy


@pytest.fixture(scope="module")
def pair_data():
    task = toyworld.task("preference")
    rng = np.random.default_rng(0)
    prompts = task.sample_prompts(6, rng)
    return prompts, [task.demonstration(p, rng) for p in prompts], [task.demonstration(p, rng) for p in prompts]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """A tiny reference saved to disk, and a policy that differs from it."""
    torch.manual_seed(0)
    tok = toyworld.build_tokenizer()
    ref_dir, pol_dir = tmp_path_factory.mktemp("ref"), tmp_path_factory.mktemp("policy")
    model = toyworld.new_model("tiny", tok)
    model.save_pretrained(ref_dir)
    tok.save_pretrained(ref_dir)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    model.save_pretrained(pol_dir)
    tok.save_pretrained(pol_dir)
    return ref_dir, pol_dir


def trl_loss(trainer, n):
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(n)])
    with torch.no_grad():
        return trainer.compute_loss(trainer.model, batch).item()


def our_loss(ref_dir, pol_dir, data, beta, gamma=1.0):
    (ref, tok), (pol, _) = load_policy(ref_dir), load_policy(pol_dir)
    prompts, chosen, rejected = data
    pw, _ = rk.sequence_logprobs(pol, tok, prompts, chosen)
    pl, _ = rk.sequence_logprobs(pol, tok, prompts, rejected)
    rw, _ = rk.sequence_logprobs(ref, tok, prompts, chosen)
    rl, _ = rk.sequence_logprobs(ref, tok, prompts, rejected)
    return rk.dpo_loss(pw, pl, rw, rl, beta, gamma).mean()


def test_our_dpo_loss_equals_trl_dpotrainer(folders, pair_data, tmp_path):
    from trl import DPOTrainer

    ref_dir, pol_dir = folders
    policy, tok = load_policy(pol_dir)
    ref, _ = load_policy(ref_dir)
    args = dt.dpo_config(str(tmp_path), beta=0.5, learning_rate=1e-3, epochs=1, batch_size=6, seed=0,
                         precompute_ref_log_probs=False)
    trainer = DPOTrainer(model=policy, ref_model=ref, args=args,
                         train_dataset=dt.preference_dataset(*pair_data), processing_class=tok)
    expected = our_loss(ref_dir, pol_dir, pair_data, 0.5)
    assert abs(expected - np.log(2)) > 1e-3  # the policy differs from the reference
    assert trl_loss(trainer, 6) == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
def test_gamma_trainer_equals_eq_4(folders, pair_data, tmp_path, gamma):
    ref_dir, pol_dir = folders
    policy, tok = load_policy(pol_dir)
    ref, _ = load_policy(ref_dir)
    args = dt.dpo_config(str(tmp_path), beta=1.0, learning_rate=1e-3, epochs=1, batch_size=6, seed=0)
    trainer = dt.GammaDPOTrainer(model=policy, ref_model=ref, args=args, gamma=gamma,
                                 train_dataset=dt.preference_dataset(*pair_data), processing_class=tok)
    assert trl_loss(trainer, 6) == pytest.approx(our_loss(ref_dir, pol_dir, pair_data, 1.0, gamma), abs=1e-5)


def test_gamma_trainer_needs_precomputed_reference(folders, pair_data, tmp_path):
    policy, tok = load_policy(folders[1])
    args = dt.dpo_config(str(tmp_path), beta=1.0, learning_rate=1e-3, epochs=1, batch_size=6, seed=0,
                         precompute_ref_log_probs=False)
    with pytest.raises(ValueError, match="precompute_ref_log_probs=True"):
        dt.GammaDPOTrainer(model=policy, args=args, gamma=0.5, train_dataset=dt.preference_dataset(*pair_data),
                           processing_class=tok)


def test_every_k_steps_callback_sees_the_schedule(folders, pair_data, tmp_path):
    policy, tok = load_policy(folders[0])
    seen = []
    args = dt.dpo_config(str(tmp_path), beta=0.1, learning_rate=1e-3, epochs=5, batch_size=2, seed=0)
    trainer = dt.GammaDPOTrainer(model=policy, args=args, train_dataset=dt.preference_dataset(*pair_data),
                                 processing_class=tok, callbacks=[dt.EveryKSteps(4, lambda s, m: seen.append(s))])
    trainer.train()
    assert seen == [0, 4, 8, 12, 15]
    with pytest.raises(ValueError, match="positive"):
        dt.EveryKSteps(0, print)
    with pytest.raises(ValueError, match="same length"):
        dt.preference_dataset(["a"], ["b"], [])


def test_rated_pairs_order_answers_by_the_raters_majority():
    torch.manual_seed(0)
    tok = toyworld.build_tokenizer()
    model = toyworld.new_model("tiny", tok).eval()
    task = toyworld.task("preference")
    rng = np.random.default_rng(0)

    bias = torch.zeros(len(tok))
    bias[tok.eos_token_id] = 3.0  # a random model that ends its answers after a few characters
    model.lm_head.register_forward_hook(lambda module, inputs, out: out + bias)
    pairs = dt.rated_pairs(task, model, tok, task.sample_prompts(64, rng), 5, rng)
    assert len(pairs["prompt"]) == len(pairs["chosen"]) == len(pairs["rejected"]) == len(pairs["alpha"]) > 0
    assert set(np.unique(pairs["alpha"])) <= {0.6, 0.8, 1.0}
    assert all(w != lo for w, lo in zip(pairs["chosen"], pairs["rejected"]))
    with pytest.raises(ValueError, match="odd number"):
        dt.rated_pairs(task, model, tok, ["food: "], 4, rng)


def test_gamma_trainer_skips_the_nan_fill_and_keeps_trls_numbers(folders, pair_data, tmp_path):
    """Without the deterministic NaN fill of torch.empty (TRL's fused LM-head buffer) the weights are TRL's, bit for bit."""
    from trl import DPOTrainer

    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)  # the book's seeding: torch.empty fills with NaN
    try:
        trained = []
        for cls, kwargs in ((DPOTrainer, {}), (dt.GammaDPOTrainer, {"gamma": 1.0})):
            policy, tok = load_policy(folders[0])
            args = dt.dpo_config(str(tmp_path / cls.__name__), beta=0.5, learning_rate=1e-2, epochs=2, batch_size=3,
                                 seed=0)
            cls(model=policy, args=args, train_dataset=dt.preference_dataset(*pair_data), processing_class=tok,
                **kwargs).train()
            trained.append(policy)
    finally:
        torch.use_deterministic_algorithms(deterministic)
    assert torch.utils.deterministic.fill_uninitialized_memory  # restored
    ref, _ = load_policy(folders[0])
    pairs = [(a, b, r) for a, b, r in zip(*(m.state_dict().values() for m in (*trained, ref)))]
    assert all(torch.equal(a, b) for a, b, _ in pairs)
    assert not all(torch.equal(a, r) for a, _, r in pairs)  # training moved the weights
    with dt.unfilled_empty():
        assert not torch.utils.deterministic.fill_uninitialized_memory


def test_reference_pass_runs_once_per_reference_and_dataset(folders, pair_data, tmp_path, monkeypatch):
    from trl import DPOTrainer

    calls = []
    compute = DPOTrainer.compute_ref_log_probs
    monkeypatch.setattr(DPOTrainer, "compute_ref_log_probs", lambda self, *a: calls.append(1) or compute(self, *a))

    def ref_columns(folder, gamma):
        policy, tok = load_policy(folder)
        args = dt.dpo_config(str(tmp_path), beta=1.0, learning_rate=1e-3, epochs=1, batch_size=3, seed=0)
        trainer = dt.GammaDPOTrainer(model=policy, args=args, gamma=gamma,
                                     train_dataset=dt.preference_dataset(*pair_data), processing_class=tok)
        after.append(torch.get_rng_state())  # the pass's data loader draws from torch's generator
        return torch.tensor([trainer.train_dataset[k] for k in dt.REF_COLUMNS])

    after = []
    dt.forget_reference_logps()
    first = ref_columns(folders[0], 1.0)
    assert len(calls) == 2  # 6 pairs in batches of 3
    hit = ref_columns(folders[0], 2.0)
    assert len(calls) == 2 and torch.equal(hit, 2.0 * first)
    ref_columns(folders[1], 1.0)  # another reference: computed
    assert len(calls) == 4
    dt.forget_reference_logps()
    assert torch.equal(ref_columns(folders[0], 2.0), hit) and len(calls) == 6  # recomputed: the same numbers
    assert torch.equal(after[1], after[3])  # and a hit left the random state of a pass
