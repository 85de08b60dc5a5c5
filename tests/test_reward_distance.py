import itertools

import numpy as np
import pytest

from rlhfbook.methods import reward_distance as rd


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def small_mdp(rng, n_states=8, n_actions=3, gamma=0.9):
    return rd.random_mdp(rng, n_states, n_actions, gamma)


def deterministic_policies(mdp):
    for actions in itertools.product(range(mdp.n_actions), repeat=mdp.n_states):
        yield np.eye(mdp.n_actions)[list(actions)]


# ----------------------------------------------------------------------------- MDPs, values, policies


def test_random_mdp_is_valid_and_sparse(rng):
    mdp = rd.random_mdp(rng, 32, 4, 0.95)
    assert mdp.transition.shape == (32, 4, 32)
    np.testing.assert_allclose(mdp.transition.sum(-1), 1)
    # the paper's thresholded softmax: most of the mass on the few logits above 1 (about 16%)
    top = np.sort(mdp.transition, -1)[..., -8:].sum(-1)
    assert np.median(top) > 0.99


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (
            dict(transition=np.ones((2, 2, 3)) / 3, gamma=0.9, initial=np.ones(2) / 2),
            "shape",
        ),
        (
            dict(transition=np.ones((2, 2, 2)), gamma=0.9, initial=np.ones(2) / 2),
            "probability",
        ),
        (
            dict(transition=np.ones((2, 2, 2)) / 2, gamma=1.0, initial=np.ones(2) / 2),
            "gamma",
        ),
        (
            dict(transition=np.ones((2, 2, 2)) / 2, gamma=0.9, initial=np.ones(3) / 3),
            "initial",
        ),
    ],
)
def test_mdp_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        rd.TabularMDP(**kwargs)


def test_policy_evaluation_matches_iterated_bellman(rng):
    mdp = small_mdp(rng)
    r = rng.standard_normal(mdp.reward_shape)
    pi = rng.dirichlet(np.ones(mdp.n_actions), mdp.n_states)
    v = np.zeros(mdp.n_states)
    for _ in range(3000):
        v = np.array(
            [
                sum(
                    pi[s, a] * mdp.transition[s, a] @ (r[s, a] + mdp.gamma * v)
                    for a in range(mdp.n_actions)
                )
                for s in range(mdp.n_states)
            ]
        )
    np.testing.assert_allclose(rd.policy_evaluation(mdp, r, pi), v, atol=1e-9)


def test_optimal_and_worst_policies_beat_every_deterministic_policy(rng):
    mdp = small_mdp(rng, n_states=4, n_actions=3)
    r = rng.standard_normal(mdp.reward_shape)
    returns = [rd.policy_return(mdp, r, pi) for pi in deterministic_policies(mdp)]
    assert rd.policy_return(mdp, r, rd.optimal_policy(mdp, r)) == pytest.approx(
        max(returns), abs=1e-9
    )
    assert rd.policy_return(mdp, r, rd.worst_policy(mdp, r)) == pytest.approx(
        min(returns), abs=1e-9
    )


def test_policy_iteration_satisfies_bellman_optimality_in_a_batch(rng):
    mdp = small_mdp(rng)
    r = (
        rng.standard_normal((5, *mdp.reward_shape))
        * np.array([1, 1e-9, 1, 1e3, 1])[:, None, None, None]
    )
    pi, q = rd.policy_iteration(mdp, r)
    target = rd.expected_reward(mdp, r) + mdp.gamma * np.einsum(
        "sat,bt->bsa", mdp.transition, q.max(-1)
    )
    scale = np.abs(r).max((1, 2, 3))[
        :, None, None
    ]  # relative: a reward of size 1e-9 is solved as exactly
    np.testing.assert_allclose(q / scale, target / scale, atol=1e-10)
    np.testing.assert_array_equal(pi, np.eye(mdp.n_actions)[q.argmax(-1)])


def test_regret_is_exact_under_large_shaping_and_zero_for_trivial_rewards(rng):
    """As in the paper's sparse rewards: a tiny part that orders policies, under shaping and shifts 1e8 times larger."""
    mdp = small_mdp(rng)
    r, proxy = rng.standard_normal((2, *mdp.reward_shape))
    buried = (
        rd.potential_shaping(mdp, 1e-6 * r, 100 * rng.standard_normal(mdp.n_states))
        + 10
    )
    assert rd.normalised_regret(mdp, buried, proxy) == pytest.approx(
        rd.normalised_regret(mdp, r, proxy), abs=1e-6
    )
    assert rd.symmetric_regret(mdp, buried, proxy) == pytest.approx(
        rd.symmetric_regret(mdp, r, proxy), abs=1e-6
    )
    trivial = rd.potential_shaping(
        mdp, np.full(mdp.reward_shape, 3.0), 100 * rng.standard_normal(mdp.n_states)
    )
    assert (
        rd.normalised_regret(mdp, trivial, proxy) == 0
    )  # all policies tie: nothing to regret


def test_potential_shaping_shifts_every_return_by_the_initial_potential(rng):
    mdp = small_mdp(rng)
    r, phi = rng.standard_normal(mdp.reward_shape), rng.standard_normal(mdp.n_states)
    shaped = rd.potential_shaping(mdp, r, phi)
    for pi in (rd.uniform_policy(mdp), rd.optimal_policy(mdp, r)):
        assert rd.policy_return(mdp, shaped, pi) == pytest.approx(
            rd.policy_return(mdp, r, pi) - mdp.initial @ phi
        )


def test_s_prime_redistribution_keeps_expected_reward(rng):
    mdp = small_mdp(rng)
    r = rng.standard_normal(mdp.reward_shape)
    moved = rd.s_prime_redistribution(mdp, r, 5 * rng.standard_normal(mdp.reward_shape))
    assert np.abs(moved - r).max() > 1
    np.testing.assert_allclose(
        rd.expected_reward(mdp, moved), rd.expected_reward(mdp, r), atol=1e-12
    )


def test_interpolate_endpoints():
    r1, r2 = np.zeros((2, 2, 2)), np.ones((2, 2, 2))
    steps = rd.interpolate(r1, r2, 4)
    assert steps.shape == (4, 2, 2, 2)
    np.testing.assert_allclose(steps[:, 0, 0, 0], [0.25, 0.5, 0.75, 1.0])


def test_normalised_regret(rng):
    mdp = small_mdp(rng)
    r = rng.standard_normal(mdp.reward_shape)
    shaped = rd.potential_shaping(mdp, 2 * r, rng.standard_normal(mdp.n_states))
    assert rd.normalised_regret(mdp, r, shaped) == pytest.approx(0, abs=1e-12)
    assert rd.normalised_regret(mdp, r, -r) == pytest.approx(1)
    assert (
        rd.normalised_regret(mdp, r, np.zeros_like(r)) >= 0
    )  # ties: the first action everywhere
    others = rng.standard_normal((20, *mdp.reward_shape))
    reg = rd.symmetric_regret(mdp, r, others)
    assert reg.shape == (20,) and (reg >= -1e-12).all() and (reg <= 1 + 1e-12).all()
    assert (
        rd.normalised_regret(mdp, np.ones(mdp.reward_shape), r) == 0
    )  # all policies tie
    both_ways = 0.5 * (
        rd.normalised_regret(mdp, r, others) + rd.normalised_regret(mdp, others, r)
    )
    np.testing.assert_allclose(reg, both_ways, atol=1e-12)


# ----------------------------------------------------------------------------- canonicalisations


def test_epic_and_dard_match_loop_references(rng):
    mdp = small_mdp(rng, n_states=4, n_actions=2)
    r, g, tau = rng.standard_normal(mdp.reward_shape), mdp.gamma, mdp.transition
    n_s, n_a = mdp.n_states, mdp.n_actions
    epic, dard = np.zeros_like(r), np.zeros_like(r)
    for s, a, t in itertools.product(range(n_s), range(n_a), range(n_s)):
        e = sum(
            g * r[t, b, u] - r[s, b, u] - g * r[x, b, u]
            for x, b, u in itertools.product(range(n_s), range(n_a), range(n_s))
        ) / (n_s * n_a * n_s)
        epic[s, a, t] = r[s, a, t] + e
        d = (
            sum(
                tau[s, b, x]
                * tau[t, b, y]
                * (g * r[t, b, y] - r[s, b, x] - g * r[x, b, y])
                for b, x, y in itertools.product(range(n_a), range(n_s), range(n_s))
            )
            / n_a
        )
        dard[s, a, t] = r[s, a, t] + d
    np.testing.assert_allclose(rd.epic_canonical(mdp, r), epic, atol=1e-12)
    np.testing.assert_allclose(rd.dard_canonical(mdp, r), dard, atol=1e-12)


@pytest.mark.parametrize("name", ["EPIC", "DARD", "VAL", "minimal"])
def test_canonicalisations_are_linear_and_remove_potential_shaping(rng, name):
    mdp = small_mdp(rng)
    c = rd.CANONICALISATIONS[name]
    r1, r2 = rng.standard_normal((2, *mdp.reward_shape))
    np.testing.assert_allclose(
        c(mdp, 2 * r1 - 3 * r2), 2 * c(mdp, r1) - 3 * c(mdp, r2), atol=1e-9
    )
    shaped = rd.potential_shaping(mdp, r1, 10 * rng.standard_normal(mdp.n_states))
    np.testing.assert_allclose(c(mdp, shaped), c(mdp, r1), atol=1e-9)
    batch = c(mdp, np.stack([r1, r2]))
    np.testing.assert_allclose(batch[1], c(mdp, r2), atol=1e-12)


def test_val_is_the_advantage_of_the_uniform_policy(rng):
    mdp = small_mdp(rng)
    r = rng.standard_normal(mdp.reward_shape)
    pi = rd.uniform_policy(mdp)
    v = rd.policy_evaluation(mdp, r, pi)
    q = rd.expected_reward(mdp, r) + mdp.gamma * mdp.transition @ v
    c = rd.val_canonical(mdp, r)
    np.testing.assert_allclose(c[..., 0], q - v[:, None], atol=1e-10)
    assert c.shape == (mdp.n_states, mdp.n_actions, 1)  # constant in s', stored once
    np.testing.assert_allclose(
        (pi * c[..., 0]).sum(-1), 0, atol=1e-10
    )  # advantages average to 0


@pytest.mark.parametrize("weights", ["tau", "uniform"])
def test_minimal_canonical_is_equivalent_idempotent_and_of_least_norm(rng, weights):
    mdp = small_mdp(rng)
    w = mdp.transition if weights == "tau" else np.ones(mdp.reward_shape)
    r = rng.standard_normal(mdp.reward_shape)
    c = rd.minimal_canonical(mdp, r, w)
    np.testing.assert_allclose(
        rd.minimal_canonical(mdp, c, w), c, atol=1e-9
    )  # idempotent
    assert rd.normalised_regret(mdp, r, c) == pytest.approx(0, abs=1e-12)
    assert rd.starc_distance(mdp, r, c, "VAL") < 1e-8  # same equivalence class
    norm_c = np.sqrt((w * c**2).sum())
    for _ in range(20):  # no equivalent reward has a smaller weighted L2 norm
        other = rd.s_prime_redistribution(
            mdp,
            rd.potential_shaping(mdp, c, rng.standard_normal(mdp.n_states)),
            rng.standard_normal(mdp.reward_shape),
        )
        assert np.sqrt((w * other**2).sum()) >= norm_c - 1e-9


def test_minimal_canonical_rejects_bad_weights(rng):
    mdp = small_mdp(rng)
    with pytest.raises(ValueError, match="weights must be positive"):
        rd.minimal_canonical(
            mdp, np.zeros(mdp.reward_shape), np.zeros(mdp.reward_shape)
        )


# ----------------------------------------------------------------------------- norms and STARC


def test_reward_norms(rng):
    mdp = small_mdp(rng)
    x = rng.standard_normal((3, *mdp.reward_shape))
    flat = x.reshape(3, -1)
    for kind, order in (("L1", 1), ("L2", 2), ("Linf", np.inf)):
        np.testing.assert_allclose(
            rd.reward_norm(mdp, x, kind), np.linalg.norm(flat, order, axis=1)
        )
    np.testing.assert_allclose(
        rd.reward_norm(mdp, x, "wL2"), np.sqrt((mdp.transition * x**2).sum((1, 2, 3)))
    )
    np.testing.assert_allclose(rd.reward_norm(mdp, x, "none"), 1)
    # a reward constant in s' has tau-weighted L2 norm equal to the L2 norm of its (s, a) values
    const = np.repeat(x[0, ..., :1], mdp.n_states, -1)
    assert rd.reward_norm(mdp, const, "wL2") == pytest.approx(
        np.linalg.norm(const[..., 0])
    )
    # ... and stored with a next-state axis of length 1 it has every norm of the repeated array
    for kind in rd.NORMS:
        assert rd.reward_norm(mdp, x[0, ..., :1], kind) == pytest.approx(
            rd.reward_norm(mdp, const, kind)
        )
    np.testing.assert_allclose(
        rd.expected_reward(mdp, x[0, ..., :1]), rd.expected_reward(mdp, const)
    )
    with pytest.raises(ValueError, match="unknown norm 'L3'"):
        rd.reward_norm(mdp, x, "L3")


def test_starc_rejects_unknown_canonicalisation(rng):
    mdp = small_mdp(rng)
    r = np.zeros(mdp.reward_shape)
    with pytest.raises(ValueError, match="unknown canonicalisation 'PEARSON'"):
        rd.starc_distance(mdp, r, r, "PEARSON")


@pytest.mark.parametrize("seed", range(3))
def test_starc_properties_on_random_mdps(seed):
    """The issue's property tests: invariances, d(R,-R)=2, and the failure of EPIC and DARD."""
    rng = np.random.default_rng(seed)
    mdp = small_mdp(rng)
    r = rd.random_reward(mdp, rng)
    shaped = rd.potential_shaping(mdp, r, rd.random_potential(mdp, rng))
    moved = rd.s_prime_redistribution(
        mdp, r, 3 * r.std() * rng.standard_normal(mdp.reward_shape)
    )
    for canonical in ("VAL", "minimal"):
        for other in (shaped, moved, 3.7 * r):
            assert rd.starc_distance(mdp, r, other, canonical) < 1e-8
        assert rd.starc_distance(mdp, r, -r, canonical) == pytest.approx(2, abs=1e-8)
        assert rd.starc_distance(mdp, r, np.zeros_like(r), canonical) == pytest.approx(
            1
        )
    for canonical in ("EPIC", "DARD"):
        assert rd.starc_distance(mdp, r, shaped, canonical) < 1e-8
        assert rd.starc_distance(mdp, r, moved, canonical) > 0.05


@pytest.mark.parametrize("norm", ["L2", "wL2"])
def test_starc_is_a_bounded_pseudometric(rng, norm):
    mdp = small_mdp(rng)
    x, y, z = rng.standard_normal((3, 100, *mdp.reward_shape))
    d = lambda a, b: rd.starc_distance(mdp, a, b, "VAL", norm, norm)  # noqa: E731
    dxy, dyz, dxz = d(x, y), d(y, z), d(x, z)
    np.testing.assert_allclose(dxy, d(y, x), atol=1e-12)
    assert (dxz <= dxy + dyz + 1e-12).all()
    assert (dxy <= 2 + 1e-12).all() and (dxy > 0).all()


def test_distance_grid_covers_every_combination(rng):
    mdp = small_mdp(rng)
    r1, r2 = rng.standard_normal((2, *mdp.reward_shape))
    grid = rd.distance_grid(mdp, r1, r2[None])
    assert len(grid) == len(rd.CANONICALISATIONS) * len(rd.NORMS) * len(rd.METRICS)
    assert grid["VAL", "L2", "L2"][0] == pytest.approx(rd.starc_distance(mdp, r1, r2))
    for (c, n, m), d in grid.items():
        assert d[0] == pytest.approx(rd.starc_distance(mdp, r1, r2, c, n, m), rel=1e-12)
    some = rd.distance_grid(
        mdp, r1, r2[None], ("EPIC", "VAL"), (("wL2", "wL2"), ("L1", "Linf"))
    )
    assert list(some) == [
        ("EPIC", "wL2", "wL2"),
        ("EPIC", "L1", "Linf"),
        ("VAL", "wL2", "wL2"),
        ("VAL", "L1", "Linf"),
    ]
    assert all(some[k] == grid[k] for k in some)


def test_interpolation_experiment_is_deterministic_and_matches_a_loop():
    out = [
        rd.interpolation_experiment(
            np.random.default_rng(1), 2, 2, 4, n_states=6, n_actions=2, progress=False
        )
        for _ in range(2)
    ]
    regret, grid, mdps, _ = out[0]
    assert regret.shape == grid["VAL", "L2", "L2"].shape == (16,) and len(mdps) == 2
    np.testing.assert_array_equal(regret, out[1][0])
    assert ((regret >= -1e-12) & (regret <= 1 + 1e-12)).all()
    rng, k = (
        np.random.default_rng(1),
        0,
    )  # the same draws, one interpolated point at a time
    for _ in range(2):
        mdp = rd.random_mdp(rng, 6, 2, 0.95)
        pairs = [
            (rd.random_reward(mdp, rng), rd.random_reward(mdp, rng)) for _ in range(2)
        ]
        for r1, r2 in pairs:
            for ri in rd.interpolate(r1, r2, 4):
                assert regret[k] == pytest.approx(
                    float(rd.symmetric_regret(mdp, r1, ri)), abs=1e-9
                )
                assert grid["DARD", "wL1", "wL1"][k] == pytest.approx(
                    float(rd.starc_distance(mdp, r1, ri, "DARD", "wL1", "wL1"))
                )
                k += 1


def test_next_state_independent_rewards_vary_over_next_states_only_through_shaping(rng):
    mdp = small_mdp(rng)
    for _ in range(20):
        r = rd.random_reward(mdp, rng, next_state_dependent=False)
        across = (
            r - r[..., :1]
        )  # gamma (Phi(s') - Phi(s'_0)) if shaped, else 0: the same for every (s, a)
        np.testing.assert_allclose(
            across, np.broadcast_to(across[:1, :1], across.shape), atol=1e-12
        )
        assert np.abs(rd.random_reward(mdp, rng) - rd.random_reward(mdp, rng)).max() > 0
    cells = (("L2", "L2"),)
    regret, grid, _, _ = rd.interpolation_experiment(
        rng,
        2,
        2,
        4,
        n_states=6,
        n_actions=2,
        next_state_dependent=False,
        canonicalisations=("EPIC", "VAL"),
        cells=cells,
        progress=False,
    )
    assert set(grid) == {
        ("EPIC", "L2", "L2"),
        ("VAL", "L2", "L2"),
    } and regret.shape == (16,)


def test_property_report_on_a_paper_sized_mdp(rng):
    report = rd.property_report(rd.random_mdp(rng), rng, n_triples=10)
    for c in ("VAL", "minimal"):
        assert (
            max(report[f"{c} to {k}"] for k in ("shaped", "redistributed", "scaled"))
            < 1e-8
        )
    assert min(report["EPIC to redistributed"], report["DARD to redistributed"]) > 0.05
    assert report["VAL d(R, -R)"] == pytest.approx(2)
    assert report["max asymmetry"] < 1e-12 and report["max triangle violation"] < 1e-12
    assert report["max distance"] <= 2


def test_pearson(rng):
    x, y = rng.standard_normal((2, 50))
    assert rd.pearson(x, x + y) == pytest.approx(np.corrcoef(x, x + y)[0, 1])
    assert rd.pearson(x, np.ones(50)) == 0


# ----------------------------------------------------------------------------- contextual bandits


def bandit_as_mdp(reward_xy):
    """A contextual bandit as an MDP: prompt states, response actions, then an absorbing end state."""
    n_x, n_y = reward_xy.shape
    tau = np.zeros((n_x + 1, n_y, n_x + 1))
    tau[:, :, n_x] = 1
    mdp = rd.TabularMDP(tau, 0.9, np.r_[np.ones(n_x) / n_x, 0])
    r = np.zeros(mdp.reward_shape)
    r[:n_x, :, n_x] = reward_xy
    return mdp, r


def test_bandit_distance_is_the_val_distance_of_the_one_step_mdp(rng):
    r1, r2 = rng.standard_normal((2, 5, 7))
    mdp, m1 = bandit_as_mdp(r1)
    _, m2 = bandit_as_mdp(r2)
    assert rd.bandit_starc_distance(r1, r2) == pytest.approx(
        rd.starc_distance(mdp, m1, m2, "VAL")
    )


def test_bandit_distance_invariances(rng):
    r = rng.standard_normal((6, 9))
    w = rng.dirichlet(np.ones(6))[:, None] * np.ones((6, 9)) / 9
    shifted = 2.5 * r + rng.standard_normal(
        (6, 1)
    )  # per-prompt baseline and positive scale
    assert rd.bandit_starc_distance(r, shifted, w) < 1e-12
    assert rd.bandit_starc_distance(r, -r, w) == pytest.approx(2)
    assert 0 < rd.bandit_starc_distance(r, rng.standard_normal((6, 9)), w) < 2
    np.testing.assert_allclose(rd.bandit_canonical(r).mean(-1), 0, atol=1e-12)


@pytest.mark.parametrize("canonical", ["VAL", "minimal", "EPIC", "DARD"])
def test_a_large_pure_shaping_reward_standardises_to_zero_not_to_its_rounding_noise(
    canonical,
):
    # |Phi| ~ 1e3 leaves ~1e-12 of rounding noise in c(R); relative to R's own scale that is zero,
    # so d(trivial, R) = n(s(R)) = 1 for any non-trivial R (it was 1.3-1.6 when the test ignored R).
    rng = np.random.default_rng(0)
    for _ in range(5):
        mdp = rd.random_mdp(rng, n_states=7, n_actions=3, gamma=0.9)
        trivial = rd.potential_shaping(
            mdp, np.zeros(mdp.reward_shape), 1e3 * rng.standard_normal(7)
        )
        other = rng.standard_normal(mdp.reward_shape)
        assert float(
            rd.starc_distance(mdp, trivial, other, canonical=canonical)
        ) == pytest.approx(1, abs=1e-9)


# ----------------------------------------------------------------------------- trivial and nearly trivial rewards


def val_canonical_mp(mdp, reward, digits=40):
    """c_VAL(R) for the uniform policy in ``digits``-digit arithmetic (mpmath), from the float64 tau and R taken
    as exact: the reference float64's c_VAL is compared with."""
    mp = pytest.importorskip("mpmath")
    with mp.workdps(digits):
        n_s, n_a, _ = mdp.reward_shape
        tau = [
            [[mp.mpf(float(p)) for p in row] for row in block]
            for block in mdp.transition
        ]
        r = [
            [
                mp.fsum(p * mp.mpf(float(x)) for p, x in zip(tau[s][a], reward[s, a]))
                for a in range(n_a)
            ]
            for s in range(n_s)
        ]
        gamma = mp.mpf(mdp.gamma)
        lhs = mp.matrix(n_s, n_s)
        for s in range(n_s):
            for t in range(n_s):
                lhs[s, t] = (s == t) - gamma * mp.fsum(
                    tau[s][a][t] for a in range(n_a)
                ) / n_a
        v = mp.lu_solve(lhs, mp.matrix([mp.fsum(r[s]) / n_a for s in range(n_s)]))
        return np.array(
            [
                [
                    float(
                        r[s][a]
                        + gamma * mp.fsum(tau[s][a][t] * v[t] for t in range(n_s))
                        - v[s]
                    )
                    for a in range(n_a)
                ]
                for s in range(n_s)
            ]
        )[..., None]


def nearly_trivial_reward(mdp, rng, n_entries=5):
    """As the paper's sparse rewards sometimes are: a few entries of size 3 to 5, all on transitions of
    probability below 1e-6 (the thresholded softmax gives them ~1e-10)."""
    unlikely = np.argwhere(mdp.transition < 1e-6)
    r = np.zeros(mdp.reward_shape)
    r[tuple(unlikely[rng.choice(len(unlikely), n_entries, replace=False)].T)] = (
        rng.uniform(3, 5, n_entries)
    )
    return r


def test_float64_val_of_nearly_trivial_rewards_matches_a_40_digit_reference_and_is_standardised():
    """Nearly trivial rewards are not rounding error: float64's c_VAL agrees with 40-digit arithmetic to ~1e-15
    of its own size (unshaped) and to the rounding level ROUNDING * max|R| under shifts and shaping 1e10 times
    larger than c; standardisation divides it by its norm instead of zeroing it."""
    rng = np.random.default_rng(600)
    mdp = rd.random_mdp(rng)
    for _ in range(3):
        r = nearly_trivial_reward(mdp, rng)
        buried = rd.potential_shaping(
            mdp, r + 10 * rng.random(), 10 * rng.standard_normal(mdp.n_states)
        )
        for reward, rel in ((r, None), (buried, rd.ROUNDING)):
            exact, c = val_canonical_mp(mdp, reward), rd.val_canonical(mdp, reward)
            size = np.abs(exact).max()
            assert (
                1e-13 * np.abs(reward).max() < size < 1e-8 * np.abs(reward).max()
            )  # nearly trivial, not trivial
            error = np.abs(c - exact).max()
            if rel is None:
                assert error <= 1e-13 * size
            else:
                assert error <= rel * np.abs(reward).max()
            for norm in ("L2", "wL2", "L1", "Linf"):
                unit = rd.standardise(mdp, c, norm, reward)
                assert rd.reward_norm(mdp, unit, norm) == pytest.approx(1)


def test_exactly_trivial_rewards_standardise_to_zero_and_nearly_trivial_ones_do_not():
    """One criterion for every canonicalisation and norm: the rounding level of exactly trivial rewards is far
    below ROUNDING, the nearly trivial rewards' c(R) far above it."""
    rng = np.random.default_rng(601)
    mdp = rd.random_mdp(rng)
    trivial = rd.trivial_rewards(mdp, rng)
    nearly = np.stack([nearly_trivial_reward(mdp, rng) for _ in range(4)])
    nearly = rd.potential_shaping(
        mdp, nearly, 10 * rng.standard_normal((4, mdp.n_states))
    )
    for name in ("EPIC", "DARD", "VAL", "minimal"):
        c = rd.CANONICALISATIONS[name]
        for norm in rd.NORMS[:-1]:
            assert (rd.standardise(mdp, c(mdp, trivial), norm, trivial) == 0).all(), (
                name,
                norm,
            )
        assert rd.reward_norm(
            mdp, rd.standardise(mdp, c(mdp, nearly), "L2", nearly), "L2"
        ) == pytest.approx(1), name
    level = rd.rounding_level(mdp, trivial)
    assert (
        max(level.values()) <= rd.ROUNDING / 4
    )  # the tolerance sits above the measured rounding level


def test_distance_and_regret_agree_on_which_rewards_are_trivial():
    rng = np.random.default_rng(602)
    mdp = rd.random_mdp(rng)
    proxy, other = rng.standard_normal((2, *mdp.reward_shape))
    trivial = rd.trivial_rewards(mdp, rng)
    nearly = rd.potential_shaping(
        mdp, nearly_trivial_reward(mdp, rng), 10 * rng.standard_normal(mdp.n_states)
    )
    np.testing.assert_array_equal(
        rd.normalised_regret(mdp, trivial, proxy), 0
    )  # all policies tie
    np.testing.assert_allclose(
        rd.starc_distance(mdp, trivial, other), 1
    )  # c(R) = 0: distance 1 to anything
    assert (
        rd.normalised_regret(mdp, nearly, proxy) > 0.05
    )  # its policies differ, and so does its distance
    assert abs(float(rd.starc_distance(mdp, nearly, other)) - 1) > 0.05
    np.testing.assert_array_equal(rd.is_trivial(mdp, trivial), True)
    assert not rd.is_trivial(mdp, nearly)


def test_val_distance_is_the_same_in_the_l2_and_weighted_l2_cells():
    """VAL's c(R) does not depend on s', so its tau-weighted L2 norm is its L2 norm / sqrt(|S|) and the two cells
    give the same distances, nearly trivial endpoints included (the paper's generator, 6 MDPs x 4 pairs)."""
    cells = (("L2", "L2"), ("wL2", "wL2"))
    regret, grid, _, signal = rd.interpolation_experiment(
        np.random.default_rng(603),
        6,
        4,
        4,
        canonicalisations=("VAL",),
        cells=cells,
        progress=False,
    )
    assert (
        (signal > rd.ROUNDING) & (signal < rd.NEARLY_TRIVIAL)
    ).any()  # the draws hold nearly trivial endpoints
    np.testing.assert_allclose(
        grid["VAL", "L2", "L2"], grid["VAL", "wL2", "wL2"], atol=1e-12
    )
    assert rd.pearson(grid["VAL", "L2", "L2"], regret) == pytest.approx(
        rd.pearson(grid["VAL", "wL2", "wL2"], regret), abs=1e-12
    )


# ----------------------------------------------------------------------------- the paper code's Monte-Carlo regret


def test_monte_carlo_returns_estimate_the_exact_return(rng):
    mdp = small_mdp(rng)
    r = rng.standard_normal((3, *mdp.reward_shape))
    pi = rd.optimal_policy(mdp, r)
    exact = rd.policy_return(mdp, r, pi)
    runs = np.stack(
        [rd.monte_carlo_returns(mdp, r, pi.argmax(-1), rng, chunk=2) for _ in range(40)]
    )
    se = runs.std(0) / np.sqrt(len(runs))
    assert (
        np.abs(runs.mean(0) - exact) < 4 * se + 1e-3
    ).all()  # unbiased up to the truncation (gamma^T ~ 1e-5)
    assert (runs.std(0) > 0).all()


def test_monte_carlo_regret_is_the_exact_regret_on_deterministic_dynamics(rng):
    n_s, n_a = 5, 3
    tau = np.eye(n_s)[
        rng.integers(0, n_s, (n_s, n_a))
    ]  # one next state per (s, a): no sampling noise
    mdp = rd.TabularMDP(tau, 0.9, np.full(n_s, 1 / n_s))
    r1, r2 = rng.standard_normal((2, *mdp.reward_shape))
    ri = rd.interpolate(r1, r2, 4)
    np.testing.assert_allclose(
        rd.monte_carlo_regret(mdp, r1, ri, rng),
        rd.symmetric_regret(mdp, r1, ri),
        atol=1e-4,
    )
