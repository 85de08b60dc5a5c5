import numpy as np
import pytest
import torch

from rlhfbook.lm.models import load_policy
from rlhfbook.methods import dpo_training as dt
from rlhfbook.methods import ranking as rk
from rlhfbook.tasks import toyworld
from rlhfbook.tasks.preferences import PreferencePairs


@pytest.fixture(scope="module")
def pair_data():
    task = toyworld.task("preference")
    rng = np.random.default_rng(0)
    prompts = task.sample_prompts(6, rng)
    return (
        prompts,
        [task.demonstration(p, rng) for p in prompts],
        [task.demonstration(p, rng) for p in prompts],
    )


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
    args = dt.dpo_config(
        str(tmp_path),
        beta=0.5,
        learning_rate=1e-3,
        epochs=1,
        batch_size=6,
        seed=0,
        precompute_ref_log_probs=False,
    )
    trainer = DPOTrainer(
        model=policy,
        ref_model=ref,
        args=args,
        train_dataset=PreferencePairs(*pair_data).to_dataset(),
        processing_class=tok,
    )
    expected = our_loss(ref_dir, pol_dir, pair_data, 0.5)
    assert abs(expected - np.log(2)) > 1e-3  # the policy differs from the reference
    assert trl_loss(trainer, 6) == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
def test_gamma_trainer_equals_eq_4(folders, pair_data, tmp_path, gamma):
    ref_dir, pol_dir = folders
    policy, tok = load_policy(pol_dir)
    ref, _ = load_policy(ref_dir)
    args = dt.dpo_config(
        str(tmp_path), beta=1.0, learning_rate=1e-3, epochs=1, batch_size=6, seed=0
    )
    trainer = dt.GammaDPOTrainer(
        model=policy,
        ref_model=ref,
        args=args,
        gamma=gamma,
        train_dataset=PreferencePairs(*pair_data).to_dataset(),
        processing_class=tok,
    )
    assert trl_loss(trainer, 6) == pytest.approx(
        our_loss(ref_dir, pol_dir, pair_data, 1.0, gamma), abs=1e-5
    )


def test_gamma_trainer_needs_precomputed_reference(folders, pair_data, tmp_path):
    policy, tok = load_policy(folders[1])
    args = dt.dpo_config(
        str(tmp_path),
        beta=1.0,
        learning_rate=1e-3,
        epochs=1,
        batch_size=6,
        seed=0,
        precompute_ref_log_probs=False,
    )
    with pytest.raises(ValueError, match="precompute_ref_log_probs=True"):
        dt.GammaDPOTrainer(
            model=policy,
            args=args,
            gamma=0.5,
            train_dataset=PreferencePairs(*pair_data).to_dataset(),
            processing_class=tok,
        )


def test_every_k_steps_callback_sees_the_schedule(folders, pair_data, tmp_path):
    policy, tok = load_policy(folders[0])
    seen = []
    args = dt.dpo_config(
        str(tmp_path), beta=0.1, learning_rate=1e-3, epochs=5, batch_size=2, seed=0
    )
    trainer = dt.GammaDPOTrainer(
        model=policy,
        args=args,
        train_dataset=PreferencePairs(*pair_data).to_dataset(),
        processing_class=tok,
        callbacks=[dt.EveryKSteps(4, lambda s, m: seen.append(s))],
    )
    trainer.train()
    assert seen == [0, 4, 8, 12, 15]
    with pytest.raises(ValueError, match="positive"):
        dt.EveryKSteps(0, print)


@pytest.mark.parametrize("gamma", [1.0, 0.5])
def test_trl_pair_logprobs_decompose_trls_own_loss(folders, pair_data, tmp_path, gamma):
    ref_dir, pol_dir = folders
    policy, tok = load_policy(pol_dir)
    ref, _ = load_policy(ref_dir)
    args = dt.dpo_config(
        str(tmp_path), beta=0.5, learning_rate=1e-3, epochs=1, batch_size=6, seed=0
    )
    trainer = dt.GammaDPOTrainer(
        model=policy,
        ref_model=ref,
        args=args,
        gamma=gamma,
        processing_class=tok,
        train_dataset=PreferencePairs(*pair_data).to_dataset(),
    )
    batches = dt.trl_batches(trainer, batch_size=4)
    assert [len(b["ref_chosen_logps"]) for b in batches] == [
        4,
        2,
    ]  # in order, the last batch short
    numbers = dt.trl_pair_logprobs(trainer, batches)
    per_pair = rk.dpo_loss(*numbers.T, 0.5)
    assert per_pair.std() > 1e-4  # the pairs differ
    assert trl_loss(trainer, 6) == pytest.approx(per_pair.mean(), abs=1e-5)
    # the policy's columns are the book's log-likelihoods, computed by TRL's own forward pass
    ours = rk.pair_logprobs(
        policy, tok, PreferencePairs(*pair_data, np.ones(len(pair_data[0])))
    )
    np.testing.assert_allclose(numbers[:, 0], ours.w, atol=1e-4)
    np.testing.assert_allclose(numbers[:, 1], ours.l, atol=1e-4)


def test_reference_pass_runs_once_per_reference_and_dataset(
    folders, pair_data, tmp_path, monkeypatch
):
    from trl import DPOTrainer

    calls = []
    compute = DPOTrainer.compute_ref_log_probs
    monkeypatch.setattr(
        DPOTrainer,
        "compute_ref_log_probs",
        lambda self, *a: calls.append(1) or compute(self, *a),
    )

    def ref_columns(folder, gamma):
        policy, tok = load_policy(folder)
        args = dt.dpo_config(
            str(tmp_path), beta=1.0, learning_rate=1e-3, epochs=1, batch_size=3, seed=0
        )
        trainer = dt.GammaDPOTrainer(
            model=policy,
            args=args,
            gamma=gamma,
            train_dataset=PreferencePairs(*pair_data).to_dataset(),
            processing_class=tok,
        )
        after.append(
            torch.get_rng_state()
        )  # the pass's data loader draws from torch's generator
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
    assert (
        torch.equal(ref_columns(folders[0], 2.0), hit) and len(calls) == 6
    )  # recomputed: the same numbers
    assert torch.equal(after[1], after[3])  # and a hit left the random state of a pass


def test_train_dpo_records_checkpoints_on_which_thm_4_1_holds_against_trl():
    from rlhfbook.core import runtime
    from rlhfbook.tasks.ranking_task import RankingTask
    from rlhfbook.tasks.toyworld.sft import supervised_finetune

    runtime.seed_everything(0, threads=1)
    task = RankingTask()
    tok = task.tokenizer()
    reference = toyworld.new_model("tiny", tok)
    supervised_finetune(
        reference, tok, task, steps=40, batch_size=32, lr=1e-2, seed=0, progress=False
    )
    reference.eval()
    pairs = task.sample_pairs(96, 1, np.random.default_rng(0))
    train, val = pairs.select(range(32, 96)), pairs.select(range(32))
    before = [p.clone() for p in reference.parameters()]
    cps = dt.train_dpo(
        reference,
        tok,
        train,
        val,
        beta=0.1,
        learning_rate=3e-3,
        epochs=2,
        batch_size=16,
        eval_every=3,
        seed=0,
        extra=lambda model: {"calls": 1.0},
    )
    assert [cp.step for cp in cps] == [0, 3, 6, 8]
    assert all(
        torch.equal(a, b) for a, b in zip(before, reference.parameters())
    )  # the reference is untouched
    ref_train, ref_val = (
        rk.pair_logprobs(reference, tok, train),
        rk.pair_logprobs(reference, tok, val),
    )
    tab = dt.checkpoint_table(cps, ref_train, ref_val, beta=0.1)
    first = tab.iloc[0]
    assert (
        first["train loss"] == pytest.approx(np.log(2), abs=1e-5)
        and first["reward acc"] == 0.5
    )
    assert (
        first["R"] == rk.ranking_accuracy(ref_train.w, ref_train.l)
        and first["flipped"] == 0
        and first["distance"] == 0
    )
    assert (
        tab["train loss"].iloc[-1] < tab["train loss"].iloc[0]
        and tab["reward acc"].iloc[-1] > 0.55
    )
    assert (tab["Thm 4.1 agreement"] == 1.0).all() and tab[
        "max |loss - TRL loss|"
    ].max() < 1e-4
    assert (tab["calls"] == 1.0).all()
