"""Distances between reward functions: EPIC, DARD and STARC, on tabular MDPs.

Implements the objects of Skalse et al., *STARC: A General Framework for Quantifying
Differences Between Reward Functions* (ICLR 2024), and the two pseudometrics it improves on,
EPIC (Gleave et al., 2021) and DARD (Wulfe et al., 2022).

Conventions. An MDP has finite states ``S`` and actions ``A``; a reward is an array
``R[..., s, a, s']`` (leading axes are a batch of rewards, every function broadcasts over
them); a policy is a stochastic matrix ``pi[..., s, a]``. A reward that does not depend on the
next state may be given with a last axis of length 1 (``R[..., s, a, 0]``): it stands for the same
value repeated over s', and norms weigh it as such. VAL and the minimal canonicalisation return
rewards in this form, which makes their distances cheap to compute.

Used by chapter 4.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rlhfbook.core.progress import track


@dataclass(frozen=True)
class TabularMDP:
    """A finite MDP without its reward: transition ``tau[s, a, s']``, discount, initial distribution."""

    transition: np.ndarray
    gamma: float
    initial: np.ndarray

    def __post_init__(self):
        tau, mu = np.asarray(self.transition, float), np.asarray(self.initial, float)
        if tau.ndim != 3 or tau.shape[0] != tau.shape[2]:
            raise ValueError(f"transition must have shape (S, A, S), got {tau.shape}")
        if not np.allclose(tau.sum(-1), 1) or (tau < 0).any():
            raise ValueError(
                "transition[s, a] must be a probability distribution over next states"
            )
        if mu.shape != (tau.shape[0],) or not np.isclose(mu.sum(), 1) or (mu < 0).any():
            raise ValueError(
                f"initial must be a distribution over the {tau.shape[0]} states"
            )
        if not 0 <= self.gamma < 1:
            raise ValueError(f"gamma must lie in [0, 1), got {self.gamma}")
        object.__setattr__(self, "transition", tau)
        object.__setattr__(self, "initial", mu)

    @property
    def n_states(self) -> int:
        return self.transition.shape[0]

    @property
    def n_actions(self) -> int:
        return self.transition.shape[1]

    @property
    def reward_shape(self) -> tuple[int, int, int]:
        return self.transition.shape


# --------------------------------------------------------------------------- random MDPs


def random_mdp(
    rng: np.random.Generator,
    n_states: int = 32,
    n_actions: int = 4,
    gamma: float = 0.95,
    threshold: float = 1.0,
) -> TabularMDP:
    """The paper's random environment: iid N(0,1) logits, those below ``threshold`` set to -20,
    softmax over next states (sparse dynamics: a few likely successors per (s, a)); uniform start."""
    z = rng.standard_normal((n_states, n_actions, n_states))
    logits = np.where(z > threshold, z, -20.0)
    tau = np.exp(logits - logits.max(-1, keepdims=True))
    return TabularMDP(
        tau / tau.sum(-1, keepdims=True), gamma, np.full(n_states, 1 / n_states)
    )


def potential_shaping(
    mdp: TabularMDP, reward: np.ndarray, potential: np.ndarray
) -> np.ndarray:
    """``R(s,a,s') + gamma Phi(s') - Phi(s)``: leaves the ordering of policies unchanged."""
    phi = np.asarray(potential)[..., :, None, None]
    return reward + mdp.gamma * np.swapaxes(phi, -1, -3) - phi


def s_prime_redistribution(
    mdp: TabularMDP, reward: np.ndarray, noise: np.ndarray
) -> np.ndarray:
    """Add ``noise - E_{S'~tau(s,a)}[noise]``: a reward with the same expected value in every (s, a)."""
    return reward + noise - expected_reward(mdp, noise)[..., None]


def random_reward(
    mdp: TabularMDP,
    rng: np.random.Generator,
    sparse_threshold: float = 3.0,
    next_state_dependent: bool = True,
) -> np.ndarray:
    """The paper's random reward: iid N(0,1) per (s,a,s'); with probability 0.2 only values above
    ``sparse_threshold`` kept, 0.7 scaled by 10 U, 0.3 shifted by 10 U, 0.5 potential-shaped.

    With ``next_state_dependent=False`` the N(0,1) draw is per (s, a) and repeated over s' (the
    control of this book: no reward noise on next states the dynamics never reach); potential
    shaping then still adds ``gamma Phi(s')``, which every canonicalisation removes.
    """
    n_s, n_a, _ = mdp.reward_shape
    shape = mdp.reward_shape if next_state_dependent else (n_s, n_a, 1)
    r = np.broadcast_to(rng.standard_normal(shape), mdp.reward_shape)
    if rng.random() < 0.2:
        r = np.where(r > sparse_threshold, r, 0.0)
    if rng.random() < 0.7:
        r = r * 10 * rng.random()
    if rng.random() < 0.3:
        r = r + 10 * rng.random()
    if rng.random() < 0.5:
        r = potential_shaping(mdp, r, random_potential(mdp, rng))
    return np.array(r, dtype=float)


def random_potential(mdp: TabularMDP, rng: np.random.Generator) -> np.ndarray:
    """A potential as in the paper's code: N(0,1) per state, scaled by 10 U, shifted by U."""
    return rng.standard_normal(mdp.n_states) * 10 * rng.random() + rng.random()


def trivial_rewards(
    mdp: TabularMDP, rng: np.random.Generator, sizes: tuple[float, ...] = (1, 1e2, 1e4)
) -> np.ndarray:
    """Rewards every policy ties on, ``[K, S, A, S]``: constants (1, 7.3, 1000) and pure potential shaping of
    0 and of the constant 5 with ``Phi ~ size N(0, 1)`` for each of ``sizes``. Their ``c(R)`` is 0 in exact
    arithmetic, so what a canonicalisation leaves of them is its rounding (:func:`rounding_level`)."""
    consts = [np.full(mdp.reward_shape, k) for k in (1.0, 7.3, 1e3)]
    shaped = [
        potential_shaping(
            mdp, np.full(mdp.reward_shape, k), size * rng.standard_normal(mdp.n_states)
        )
        for k in (0.0, 5.0)
        for size in sizes
    ]
    return np.stack(consts + shaped)


def interpolate(r1: np.ndarray, r2: np.ndarray, n_steps: int) -> np.ndarray:
    """``R_i = R1 + (R2 - R1) i / n`` for ``i = 1..n``, stacked on a new leading axis."""
    t = np.arange(1, n_steps + 1).reshape(-1, *([1] * np.ndim(r1))) / n_steps
    return r1 + (r2 - r1) * t


# --------------------------------------------------------------------------- values and policies


def expected_reward(mdp: TabularMDP, reward: np.ndarray) -> np.ndarray:
    """``r(s, a) = E_{S'~tau(s,a)}[R(s, a, S')]``, shape ``(..., S, A)``."""
    if np.shape(reward)[-1] == 1:  # constant in s' (see the module doc)
        return np.asarray(reward, float)[..., 0]
    return np.einsum("sat,...sat->...sa", mdp.transition, reward)


def policy_evaluation(
    mdp: TabularMDP, reward: np.ndarray, policy: np.ndarray
) -> np.ndarray:
    """Exact ``V^pi`` from the Bellman equation ``(I - gamma P_pi) V = r_pi``, shape ``(..., S)``."""
    r_pi = np.sum(policy * expected_reward(mdp, reward), -1)
    p_pi = np.einsum("...sa,sat->...st", policy, mdp.transition)
    eye = np.eye(mdp.n_states)
    return np.linalg.solve(eye - mdp.gamma * p_pi, r_pi[..., None])[..., 0]


def policy_iteration(
    mdp: TabularMDP, reward: np.ndarray, tol: float = 1e-12, max_iter: int = 1000
) -> tuple[np.ndarray, np.ndarray]:
    """An optimal deterministic policy and its action values ``Q*[..., s, a]``, by policy iteration
    (Howard): evaluate the policy exactly, switch each state to a greedy action, repeat until no
    action improves on the current one by more than ``tol`` times the reward's own scale
    ``max |r(s, a)|``. The tolerance is relative, so a reward of size 1e-10 is optimised as exactly as
    one of size 1; returns are then exact to about ``tol / (1 - gamma)`` of that scale. A few
    iterations, for a batch of rewards at once."""
    r = expected_reward(mdp, reward)
    scale = tol * np.abs(r).max((-2, -1))[..., None]
    action = r.argmax(-1)
    states, eye = np.arange(mdp.n_states), np.eye(mdp.n_states)
    for _ in range(
        max_iter
    ):  # evaluate the deterministic policy: (I - gamma tau[s, a(s)]) V = r[s, a(s)]
        r_pi = np.take_along_axis(r, action[..., None], -1)[..., 0]
        v = np.linalg.solve(
            eye - mdp.gamma * mdp.transition[states, action], r_pi[..., None]
        )[..., 0]
        q = r + mdp.gamma * np.einsum("sat,...t->...sa", mdp.transition, v)
        best = q.argmax(-1)
        gain = q.max(-1) - np.take_along_axis(q, action[..., None], -1)[..., 0]
        improve = gain > scale
        if not improve.any():
            return np.eye(mdp.n_actions)[action], q
        action = np.where(improve, best, action)
    raise RuntimeError(f"policy iteration did not converge in {max_iter} iterations")


def optimal_policy(mdp: TabularMDP, reward: np.ndarray) -> np.ndarray:
    """An optimal deterministic policy (one-hot ``[..., s, a]``), by :func:`policy_iteration`."""
    return policy_iteration(mdp, reward)[0]


def worst_policy(mdp: TabularMDP, reward: np.ndarray) -> np.ndarray:
    """A policy minimising the return: optimal for ``-R``."""
    return optimal_policy(mdp, -reward)


def policy_return(
    mdp: TabularMDP, reward: np.ndarray, policy: np.ndarray
) -> np.ndarray:
    """``J(pi) = E_{s0 ~ mu0}[V^pi(s0)]``."""
    return policy_evaluation(mdp, reward, policy) @ mdp.initial


def normalised_regret(
    mdp: TabularMDP, r_true: np.ndarray, r_proxy: np.ndarray
) -> np.ndarray:
    """Regret under ``r_true`` of an optimal policy of ``r_proxy``, as a fraction of the range of returns:
    ``(J(pi*) - J(pi_proxy)) / (J(pi*) - J(pi_worst))`` (0 where all policies tie), in [0, 1]."""
    (c_true, trivial), (c_proxy, _) = _levelled(mdp, r_true), _levelled(mdp, r_proxy)
    return _regret_of(
        mdp,
        c_true,
        trivial,
        optimal_policy(mdp, c_true),
        worst_policy(mdp, c_true),
        optimal_policy(mdp, c_proxy),
    )


def _levelled(mdp: TabularMDP, reward: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The part of ``reward`` that orders policies, ``c_VAL(R)``, and whether R is trivial (:func:`is_zero`).

    ``J_c(pi) = J_R(pi) - E_{mu0}[V_R(S0)]`` for every policy (the shaping telescopes), so regrets are the
    same computed on c. They are computed on c because the paper's random rewards can be shaping and
    shifts of size ~100 around a policy-relevant part of size ~1e-8 (entries on transitions of
    probability ~1e-10), which would otherwise be lost in rounding."""
    c = val_canonical(mdp, reward)
    return c, is_zero(mdp, c, reward)


def _regret_of(
    mdp: TabularMDP,
    reward: np.ndarray,
    trivial: np.ndarray,
    best_pi: np.ndarray,
    worst_pi: np.ndarray,
    pi: np.ndarray,
) -> np.ndarray:
    """``(J(best_pi) - J(pi)) / (J(best_pi) - J(worst_pi))`` under ``reward``; 0 where all policies tie, i.e.
    where the reward is ``trivial``: the criterion of :func:`standardise`, so regret and the STARC distance agree
    on which rewards leave nothing to regret."""
    best, worst, proxy = (
        policy_return(mdp, reward, p) for p in (best_pi, worst_pi, pi)
    )
    span = best - worst
    return np.where(trivial, 0.0, (best - proxy) / np.where(trivial, 1.0, span))


def symmetric_regret(mdp: TabularMDP, r1: np.ndarray, r2: np.ndarray) -> np.ndarray:
    """Mean of the normalised regret in both directions (the paper's analysis averages the two);
    each reward's optimal and worst policies are computed once."""
    (c1, trivial1), (c2, trivial2) = _levelled(mdp, r1), _levelled(mdp, r2)
    best1, worst1, best2, worst2 = (optimal_policy(mdp, c) for c in (c1, -c1, c2, -c2))
    return 0.5 * (
        _regret_of(mdp, c1, trivial1, best1, worst1, best2)
        + _regret_of(mdp, c2, trivial2, best2, worst2, best1)
    )


# --------------------------------------------------------------------------- canonicalisations


def no_canonical(mdp: TabularMDP, reward: np.ndarray) -> np.ndarray:
    """The identity: the baseline with no canonicalisation."""
    return np.array(reward, dtype=float)


def epic_canonical(mdp: TabularMDP, reward: np.ndarray) -> np.ndarray:
    """EPIC (Gleave et al. 2021) with uniform D_S, D_A, ignoring the dynamics:
    ``R(s,a,s') + E[gamma R(s',A,S') - R(s,A,S') - gamma R(S,A,S')]``."""
    phi = reward.mean((-2, -1))  # E_{A, S'}[R(s, A, S')]
    const = mdp.gamma * reward.mean((-3, -2, -1))
    return (
        reward
        + mdp.gamma * phi[..., None, None, :]
        - phi[..., :, None, None]
        - const[..., None, None, None]
    )


def dard_canonical(mdp: TabularMDP, reward: np.ndarray) -> np.ndarray:
    """DARD (Wulfe et al. 2022) with uniform D_A and the true dynamics:
    ``R(s,a,s') + E[gamma R(s',A,S'') - R(s,A,S') - gamma R(S',A,S'')]``,
    ``A ~ D_A``, ``S' ~ tau(s, A)``, ``S'' ~ tau(s', A)``."""
    phi = expected_reward(mdp, reward).mean(-1)  # E_{A, S'~tau(s,A)}[R(s, A, S')]
    tau_a = np.moveaxis(mdp.transition, 1, 0)  # [a, s, x]
    r_a = np.moveaxis(reward, -2, -3)  # [..., a, x, y]
    # E over A of sum_{x, y} tau(s, A, x) R(x, A, y) tau(s', A, y)  -> [..., s, s']
    cross = (tau_a @ r_a @ np.swapaxes(tau_a, -1, -2)).mean(-3)
    shaped = (
        mdp.gamma * phi[..., None, :] - phi[..., :, None] - mdp.gamma * cross
    )  # [..., s, s']
    return reward + shaped[..., :, None, :]


def uniform_policy(mdp: TabularMDP) -> np.ndarray:
    return np.full((mdp.n_states, mdp.n_actions), 1 / mdp.n_actions)


def val_canonical(
    mdp: TabularMDP, reward: np.ndarray, policy: np.ndarray | None = None
) -> np.ndarray:
    """Value-Adjusted Levelling (Skalse et al. 2024): ``E_{S'~tau(s,a)}[R(s,a,S') - V^pi(s) + gamma V^pi(S')]``
    for a fixed policy (uniform by default). It is the advantage ``A^pi(s, a)``, constant in s'
    (returned with a last axis of length 1).

    Computed as ``r(s,a) - E_pi[r(s,.)] + gamma (tau(s,a) - E_pi[tau(s,.)]) (V - mean V)``, the same quantity
    (Bellman: ``V(s) = E_pi[r(s,.) + gamma tau(s,.) V]``; the row sums of ``tau(s,a) - E_pi[tau(s,.)]`` are 0).
    Unlike ``r + gamma tau V - V`` it never subtracts two values of size ``|V| ~ max|r| / (1 - gamma)``, so a
    constant reward leaves about 5e-15 instead of 2e-14 of its size in c(R)."""
    pi = uniform_policy(mdp) if policy is None else policy
    v = policy_evaluation(mdp, reward, pi)
    v = v - v.mean(-1, keepdims=True)
    r = expected_reward(mdp, reward)
    tau_pi = np.einsum("sa,sat->st", pi, mdp.transition)
    dv = (
        np.einsum("sat,...t->...sa", mdp.transition, v)
        - np.einsum("st,...t->...s", tau_pi, v)[..., None]
    )
    return (r - (pi * r).sum(-1, keepdims=True) + mdp.gamma * dv)[..., None]


def minimal_canonical(
    mdp: TabularMDP, reward: np.ndarray, weights: np.ndarray | None = None
) -> np.ndarray:
    """Minimal canonicalisation (Skalse et al. 2024) for the weighted L2 norm with ``weights[s,a,s']``
    (default ``tau``, the paper's weighted norm): the reward of least norm among all rewards that
    differ from R by potential shaping and S'-redistribution.

    Closed form. Every equivalent reward has ``E_tau[R'(s,a,.)] = m_Phi(s,a) = r(s,a) + gamma
    (tau Phi)(s,a) - Phi(s)`` for some Phi. For fixed m, the least-norm R' is
    ``m kappa tau / w`` with ``kappa = 1 / sum_s' tau^2 / w`` (norm^2 ``sum kappa m^2``), so Phi solves
    a kappa-weighted least-squares problem. With ``w = tau``: kappa = 1 and R' = m, constant in s'
    (returned with a last axis of length 1). The projection starts from ``c_VAL(R)``, an equivalent reward
    without R's shaping and shifts, so its rounding error is relative to the part of R that orders policies.
    """
    tau = mdp.transition
    w = tau if weights is None else np.asarray(weights, float)
    if w.shape != tau.shape or (w <= 0).any():
        raise ValueError(f"weights must be positive with shape {tau.shape}")
    kappa = 1 / (tau**2 / w).sum(-1)  # [s, a]
    n_s, n_a = mdp.n_states, mdp.n_actions
    # m_Phi = r + M Phi, M[(s,a), x] = gamma tau(s,a,x) - [x == s]
    shaping = mdp.gamma * tau.reshape(n_s * n_a, n_s) - np.repeat(
        np.eye(n_s), n_a, axis=0
    )
    root = np.sqrt(kappa).reshape(-1, 1)
    r = val_canonical(mdp, reward)[..., 0].reshape(*reward.shape[:-3], n_s * n_a)
    phi = -(np.linalg.pinv(root * shaping) @ (root * r[..., None]))[..., 0]  # [..., S]
    m = (r + phi @ shaping.T).reshape(*reward.shape[:-3], n_s, n_a)
    return m[..., None] if weights is None else (m * kappa)[..., None] * tau / w


CANONICALISATIONS: dict[str, Callable[[TabularMDP, np.ndarray], np.ndarray]] = {
    "none": no_canonical,
    "EPIC": epic_canonical,
    "DARD": dard_canonical,
    "VAL": val_canonical,
    "minimal": minimal_canonical,
}


# --------------------------------------------------------------------------- norms and STARC


def reward_norm(mdp: TabularMDP, x: np.ndarray, kind: str) -> np.ndarray:
    """Norm over the last three axes: ``L1``, ``L2``, ``Linf``, or ``wL1``, ``wL2``, ``wLinf`` weighted
    by ``tau(s,a,s')`` as in the paper's code (``(sum tau |x|^p)^(1/p)``; ``wLinf = max tau |x|``);
    ``none`` is the constant 1 (no normalisation). An ``x`` constant in s' (last axis 1) counts as
    repeated over s': the weights are summed (max-ed, for Linf) over s' instead."""
    if kind not in NORMS:
        raise ValueError(f"unknown norm {kind!r}; valid norms: {', '.join(NORMS)}")
    if kind == "none":
        return np.ones(np.shape(x)[:-3])
    weighted, order = kind.startswith("w"), kind.lstrip("wL")
    tau = mdp.transition
    if np.shape(x)[-1] == 1 and mdp.n_states > 1:
        if order == "inf":
            weights = tau.max(-1, keepdims=True) if weighted else None
        else:
            weights = (
                np.ones((*tau.shape[:2], 1))
                if weighted
                else np.full((*tau.shape[:2], 1), mdp.n_states)
            )
    else:
        weights = tau if weighted else None
    flat = np.reshape(
        x, (*np.shape(x)[:-3], -1)
    )  # [..., S*A*S']: weighted sums become dot products
    w = None if weights is None else weights.ravel()
    if order == "2":
        total = (
            np.einsum("...i,...i->...", flat, flat) if w is None else (flat * flat) @ w
        )
        return np.sqrt(total)
    a = np.abs(flat)
    if order == "1":
        return a.sum(-1) if w is None else a @ w
    return (a if w is None else a * w).max(-1)


NORMS: tuple[str, ...] = ("L1", "L2", "Linf", "wL1", "wL2", "wLinf", "none")
METRICS: tuple[str, ...] = NORMS[:-1]


# c(R) counts as 0 (R is trivial: every policy ties) when max |c(R)| <= ROUNDING * max |R|. Measured on 100
# random MDPs (:func:`trivial_rewards`, :func:`rounding_level`; chapter 4 measures it again on its own MDPs):
# exactly trivial rewards leave at most 1.3e-14 max|R| in c(R) (VAL 1.1e-14, minimal 1.3e-14, EPIC and DARD
# below 2e-15), in every norm of the grid; the paper's nearly trivial rewards keep 3e-13 to 5e-10 max|R|.
ROUNDING: float = 1e-13
# A reward is nearly trivial when max |c_VAL(R)| <= NEARLY_TRIVIAL * max |R| (and it is not trivial): in the
# paper's generator the nearly trivial rewards measured reach at most ~1e-9 and the ordinary ones start above
# ~1e-5, so any value in that gap splits them the same way.
NEARLY_TRIVIAL: float = 1e-6


def is_zero(
    mdp: TabularMDP, canonical: np.ndarray, reward: np.ndarray | None = None
) -> np.ndarray:
    """Whether ``c(R)`` is 0 up to the rounding of computing it from ``reward``: ``max |c(R)| <= ROUNDING max |R|``
    (without ``reward``, only an exact 0). One criterion for every canonicalisation and norm, per reward of a
    batch; for VAL it is also the regret's "all policies tie" (:func:`normalised_regret`)."""
    size = reward_norm(mdp, canonical, "Linf")
    return size <= (
        0.0 if reward is None else ROUNDING * np.abs(reward).max((-3, -2, -1))
    )


def is_trivial(mdp: TabularMDP, reward: np.ndarray) -> np.ndarray:
    """Whether every policy ties under ``reward``: ``c_VAL(R) = 0`` up to rounding (:func:`is_zero`)."""
    return is_zero(mdp, val_canonical(mdp, reward), reward)


def policy_signal(mdp: TabularMDP, reward: np.ndarray) -> np.ndarray:
    """The share of a reward that orders policies, ``max |c_VAL(R)| / max |R|``: ~0.1 to 1 for an ordinary
    random reward, below :data:`NEARLY_TRIVIAL` for a nearly trivial one, below :data:`ROUNDING` for a trivial one."""
    size = np.abs(reward).max((-3, -2, -1))
    return reward_norm(mdp, val_canonical(mdp, reward), "Linf") / np.where(
        size > 0, size, 1.0
    )


def rounding_level(
    mdp: TabularMDP, trivial: np.ndarray, norms: tuple[str, ...] = ("Linf",)
) -> dict[tuple[str, str], float]:
    """The rounding level of each canonicalisation: the largest ``n(c(R)) / n(R)`` over a batch of exactly
    ``trivial`` rewards (``c(R) = 0`` in exact arithmetic), for each norm of ``norms`` (``Linf`` is the
    criterion of :func:`is_zero`)."""
    return {
        (name, n): float(
            (reward_norm(mdp, c(mdp, trivial), n) / reward_norm(mdp, trivial, n)).max()
        )
        for name, c in CANONICALISATIONS.items()
        if name != "none"
        for n in norms
    }


def standardise(
    mdp: TabularMDP,
    canonical: np.ndarray,
    norm: str = "L2",
    reward: np.ndarray | None = None,
) -> np.ndarray:
    """STARC's standardisation ``s(R) = c(R) / n(c(R))``, and 0 where ``c(R) = 0``.

    ``c(R) = 0`` is decided by :func:`is_zero` from ``reward`` (R itself), not from the norm ``n``: a constant
    or pure potential-shaping reward leaves rounding noise in ``c(R)``, which must not be normalised to a unit
    vector, while a nearly trivial reward (reward only on transitions the dynamics almost never take) has a
    small but exact ``c(R)`` and is normalised like any other. Batched over the leading axes."""
    zero = is_zero(mdp, canonical, reward)[..., None, None, None]
    n = reward_norm(mdp, canonical, norm)[..., None, None, None]
    return np.where(zero, 0.0, canonical / np.where(zero, 1.0, n))


def starc_distance(
    mdp: TabularMDP,
    r1: np.ndarray,
    r2: np.ndarray,
    canonical: str = "VAL",
    norm: str = "L2",
    metric: str = "L2",
) -> np.ndarray:
    """The pseudometric ``d(R1, R2) = m(s(R1), s(R2))`` (the STARC metric), here with ``m(x, y) = metric(x - y)``.

    With ``canonical`` in {VAL, minimal} this is a STARC metric; with EPIC, DARD or none it is the
    same recipe on a map that is not a canonicalisation in the paper's sense.
    """
    if canonical not in CANONICALISATIONS:
        raise ValueError(
            f"unknown canonicalisation {canonical!r}; valid: {', '.join(CANONICALISATIONS)}"
        )
    c = CANONICALISATIONS[canonical]
    return reward_norm(
        mdp,
        standardise(mdp, c(mdp, r1), norm, r1) - standardise(mdp, c(mdp, r2), norm, r2),
        metric,
    )


def distance_grid(
    mdp: TabularMDP,
    r1: np.ndarray,
    r2: np.ndarray,
    canonicalisations: tuple[str, ...] | None = None,
    cells: tuple[tuple[str, str], ...] | None = None,
) -> dict[tuple[str, str, str], np.ndarray]:
    """The (canonicalisation, normalisation, metric) distances between ``r1`` and ``r2`` (broadcast
    batches) for the given canonicalisations and (normalisation, metric) ``cells``; by default the
    whole grid of the paper's Fig. 1 (every canonicalisation, every normalisation x metric)."""
    cells = cells or tuple((n, m) for n in NORMS for m in METRICS)
    out = {}
    for c_name in canonicalisations or tuple(CANONICALISATIONS):
        c = CANONICALISATIONS[c_name]
        c1, c2 = c(mdp, r1), c(mdp, r2)
        for n in dict.fromkeys(
            n for n, _ in cells
        ):  # each normalisation once, in order
            diff = standardise(mdp, c1, n, r1) - standardise(mdp, c2, n, r2)
            for m in (m for n_, m in cells if n_ == n):
                out[c_name, n, m] = reward_norm(mdp, diff, m)
    return out


# --------------------------------------------------------------------------- the paper's experiment


def random_pairs(
    rng: np.random.Generator,
    n_pairs: int,
    n_states: int = 32,
    n_actions: int = 4,
    gamma: float = 0.95,
    next_state_dependent: bool = True,
) -> tuple[TabularMDP, np.ndarray, np.ndarray]:
    """One random MDP and ``n_pairs`` random reward pairs on it, drawn in the order of the paper's protocol
    (:func:`random_mdp`, then R1, R2 of each pair by :func:`random_reward`). Returns ``(mdp, r1, r2)``,
    each reward batch ``[pairs, S, A, S]``."""
    mdp = random_mdp(rng, n_states, n_actions, gamma)
    pairs = [
        tuple(
            random_reward(mdp, rng, next_state_dependent=next_state_dependent)
            for _ in range(2)
        )
        for _ in range(n_pairs)
    ]
    r1, r2 = (np.stack(rs) for rs in zip(*pairs))
    return mdp, r1, r2


def interpolation_experiment(
    rng: np.random.Generator,
    n_envs: int,
    n_pairs: int,
    n_steps: int,
    n_states: int = 32,
    n_actions: int = 4,
    gamma: float = 0.95,
    next_state_dependent: bool = True,
    canonicalisations: tuple[str, ...] | None = None,
    cells: tuple[tuple[str, str], ...] | None = None,
    progress: bool = True,
):
    """The paper's random-MDP protocol: per environment, ``n_pairs`` random reward pairs, each
    interpolated in ``n_steps`` steps; for every point the symmetric normalised regret between R1 and
    R_i and the distances of :func:`distance_grid` (``canonicalisations``, ``cells``: default the whole
    grid). ``next_state_dependent=False`` draws rewards without noise over next states (the control
    of :func:`random_reward`). The pairs of one environment are computed as one batch.
    Returns ``(regret[N], {(c, n, m): distance[N]}, mdps, signal[N, 2])``, N = n_envs * n_pairs * n_steps,
    points ordered by MDP, pair, step; ``signal`` holds the :func:`policy_signal` of the point's endpoints
    R1 and R2 (below :data:`NEARLY_TRIVIAL`: a nearly trivial endpoint)."""
    regrets, grids, mdps, signals = [], [], [], []
    for _ in track(range(n_envs), desc="random MDPs", enabled=progress):
        mdp, r1, r2 = random_pairs(
            rng, n_pairs, n_states, n_actions, gamma, next_state_dependent
        )
        mdps.append(mdp)
        ri = interpolate(r1, r2, n_steps).swapaxes(0, 1)  # [pairs, steps, ...]
        regrets.append(symmetric_regret(mdp, r1[:, None], ri).ravel())
        signals.append(
            np.repeat(
                np.stack([policy_signal(mdp, r1), policy_signal(mdp, r2)], -1),
                n_steps,
                axis=0,
            )
        )
        grids.append(
            {
                k: v.ravel()
                for k, v in distance_grid(
                    mdp, r1[:, None], ri, canonicalisations, cells
                ).items()
            }
        )
    grid = {k: np.concatenate([g[k] for g in grids]) for k in grids[0]}
    return np.concatenate(regrets), grid, mdps, np.concatenate(signals)


def property_report(
    mdp: TabularMDP, rng: np.random.Generator, n_triples: int = 100
) -> dict[str, float]:
    """Measure STARC's defining properties on ``mdp`` with random rewards (VAL, L2 / L2 unless named):
    distances to a potential-shaped, an S'-redistributed and a 3.7x scaled copy (VAL and minimal:
    should be 0), EPIC and DARD distances to the S'-redistributed copy (not 0: they are not
    invariant), ``d(R, -R)`` (2), and on ``n_triples`` random triples the largest asymmetry,
    triangle-inequality violation and distance.

    The reward is redrawn while it is (nearly) trivial (:func:`policy_signal` below :data:`NEARLY_TRIVIAL`): a
    sparse random reward whose few non-zero entries sit on transitions of probability ~1e-10 orders policies
    by a part 1e-10 of its size. That part is computed to ~1e-15 of itself, but a shaped copy with a
    potential as large as R carries rounding of ~1e-14 |R| into it, so its invariances hold to a few digits
    only, not to the 1e-8 checked here.
    """
    r = random_reward(mdp, rng)
    while policy_signal(mdp, r) < NEARLY_TRIVIAL:
        r = random_reward(mdp, rng)
    copies = {
        "shaped": potential_shaping(mdp, r, random_potential(mdp, rng)),
        "redistributed": s_prime_redistribution(
            mdp, r, 3 * r.std() * rng.standard_normal(r.shape)
        ),
        "scaled": 3.7 * r,
    }
    out = {
        f"{c} to {k}": float(starc_distance(mdp, r, v, c))
        for c in ("VAL", "minimal")
        for k, v in copies.items()
    }
    for c in ("EPIC", "DARD"):
        out[f"{c} to redistributed"] = float(
            starc_distance(mdp, r, copies["redistributed"], c)
        )
    out["VAL d(R, -R)"] = float(starc_distance(mdp, r, -r))
    x, y, z = (
        np.stack([random_reward(mdp, rng) for _ in range(n_triples)]) for _ in range(3)
    )
    dxy, dyz, dxz = (
        starc_distance(mdp, x, y),
        starc_distance(mdp, y, z),
        starc_distance(mdp, x, z),
    )
    out["max asymmetry"] = float(np.abs(dxy - starc_distance(mdp, y, x)).max())
    out["max triangle violation"] = float((dxz - dxy - dyz).max())
    out["max distance"] = float(max(dxy.max(), dyz.max(), dxz.max()))
    return out


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation; 0 where either input is constant."""
    x, y = np.asarray(x, float) - np.mean(x), np.asarray(y, float) - np.mean(y)
    denom = np.sqrt((x @ x) * (y @ y))
    return float(x @ y / denom) if denom > 0 else 0.0


# --------------------------------------------------------------------------- contextual bandits


def bandit_canonical(
    reward: np.ndarray, policy: np.ndarray | None = None
) -> np.ndarray:
    """VAL for a contextual bandit ``reward[..., x, y]`` (prompt x, response y, one step): the
    potential is ``V^pi(x) = E_{y~pi(x)} R(x, y)``, so canonicalising removes a per-prompt baseline."""
    pi = np.full(reward.shape[-2:], 1 / reward.shape[-1]) if policy is None else policy
    return reward - (pi * reward).sum(-1, keepdims=True)


def bandit_starc_distance(
    r1: np.ndarray,
    r2: np.ndarray,
    weights: np.ndarray | None = None,
    policy: np.ndarray | None = None,
) -> np.ndarray:
    """STARC (VAL, weighted L2, weighted L2) distance of two contextual-bandit rewards ``[..., x, y]``;
    ``weights[x, y]`` (default uniform) is e.g. the prompt distribution times the sampling policy."""
    w = np.ones(r1.shape[-2:]) if weights is None else weights

    def unit(r):
        c = bandit_canonical(r, policy)
        n = np.sqrt((w * c**2).sum((-2, -1)))[..., None, None]
        return c / np.where(n > 0, n, 1.0)

    return np.sqrt((w * (unit(r1) - unit(r2)) ** 2).sum((-2, -1)))


# --------------------------------------------------------------------------- the paper code's Monte-Carlo regret


def monte_carlo_returns(
    mdp: TabularMDP,
    rewards: np.ndarray,
    policies: np.ndarray,
    rng: np.random.Generator,
    discount_tol: float = 1e-5,
    chunk: int = 64,
) -> np.ndarray:
    """Monte-Carlo ``J_{R_k}(pi_k)`` as the paper's code estimates it (``src/distance/rollout.py``): for each
    reward ``rewards[k]`` and deterministic policy ``policies[k]`` (actions ``[S]``), one episode from every
    start state, repeated ``|A|`` times, each truncated after ``log(discount_tol) / log(gamma)`` steps; the
    mean discounted return. Episodes of different k are independent. ``chunk`` rewards are simulated at once."""
    n_s, n_a, _ = mdp.reward_shape
    horizon = round(np.log(discount_tol) / np.log(mdp.gamma))
    cum = np.cumsum(mdp.transition, -1)
    start = np.tile(np.arange(n_s), n_a)  # [E]: every start state, |A| times
    out = []
    for lo in range(0, len(rewards), chunk):
        r, pi = rewards[lo : lo + chunk], policies[lo : lo + chunk]
        k = np.arange(len(r))[:, None]
        s, total, discount = (
            np.broadcast_to(start, (len(r), len(start))),
            np.zeros((len(r), len(start))),
            1.0,
        )
        for _ in range(horizon):
            a = pi[k, s]
            u = rng.random(s.shape)[..., None]
            nxt = np.minimum(
                (u > cum[s, a]).sum(-1), n_s - 1
            )  # inverse-CDF draw from tau(s, a)
            total += discount * r[k, s, a, nxt]
            s, discount = nxt, discount * mdp.gamma
        out.append(total.mean(-1))
    return np.concatenate(out)


def monte_carlo_regret(
    mdp: TabularMDP, r1: np.ndarray, ri: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """The symmetric normalised regret of pairs ``(r1, ri[k])`` with the paper code's returns
    (``src/experiments/interpolated.py``): the optimal and worst policies of :func:`symmetric_regret` (computed
    on ``c_VAL``), every return ``J`` from :func:`monte_carlo_returns` on the rewards themselves, and a span of
    exactly 0 replaced by 1. ``r1`` is one reward ``[S, A, S]``, ``ri`` a batch ``[K, S, A, S]``; returns ``[K]``."""
    c1, ci = val_canonical(mdp, r1), val_canonical(mdp, ri)
    action = [
        policy.argmax(-1) for policy in (optimal_policy(mdp, c1), worst_policy(mdp, c1))
    ]
    best_i, worst_i = (
        optimal_policy(mdp, ci).argmax(-1),
        worst_policy(mdp, ci).argmax(-1),
    )
    k = len(ri)
    rewards = np.concatenate(
        [np.stack([r1, r1]), ri, np.broadcast_to(r1, ri.shape), ri, ri]
    )
    policies = np.concatenate(
        [
            np.stack(action),
            np.broadcast_to(action[0], best_i.shape),
            best_i,
            best_i,
            worst_i,
        ]
    )
    j = monte_carlo_returns(mdp, rewards, policies, rng)
    j1_best, j1_worst = j[0], j[1]
    ji_pi1, j1_pii, ji_pii, ji_worst = (
        j[2 + m * k : 2 + (m + 1) * k] for m in range(4)
    )
    span1, span_i = j1_best - j1_worst, ji_pii - ji_worst
    regret1 = (j1_best - j1_pii) / np.where(span1 == 0, 1.0, span1)
    regret_i = (ji_pii - ji_pi1) / np.where(span_i == 0, 1.0, span_i)
    return 0.5 * (regret1 + regret_i)
