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

from .book.progress import track


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
            raise ValueError("transition[s, a] must be a probability distribution over next states")
        if mu.shape != (tau.shape[0],) or not np.isclose(mu.sum(), 1) or (mu < 0).any():
            raise ValueError(f"initial must be a distribution over the {tau.shape[0]} states")
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
    rng: np.random.Generator, n_states: int = 32, n_actions: int = 4, gamma: float = 0.95, threshold: float = 1.0
) -> TabularMDP:
    """The paper's random environment: iid N(0,1) logits, those below ``threshold`` set to -20,
    softmax over next states (sparse dynamics: a few likely successors per (s, a)); uniform start."""
    z = rng.standard_normal((n_states, n_actions, n_states))
    logits = np.where(z > threshold, z, -20.0)
    tau = np.exp(logits - logits.max(-1, keepdims=True))
    return TabularMDP(tau / tau.sum(-1, keepdims=True), gamma, np.full(n_states, 1 / n_states))


def potential_shaping(mdp: TabularMDP, reward: np.ndarray, potential: np.ndarray) -> np.ndarray:
    """``R(s,a,s') + gamma Phi(s') - Phi(s)``: leaves the ordering of policies unchanged."""
    phi = np.asarray(potential)[..., :, None, None]
    return reward + mdp.gamma * np.swapaxes(phi, -1, -3) - phi


def s_prime_redistribution(mdp: TabularMDP, reward: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Add ``noise - E_{S'~tau(s,a)}[noise]``: a reward with the same expected value in every (s, a)."""
    return reward + noise - expected_reward(mdp, noise)[..., None]


def random_reward(
    mdp: TabularMDP, rng: np.random.Generator, sparse_threshold: float = 3.0, next_state_dependent: bool = True
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


def policy_evaluation(mdp: TabularMDP, reward: np.ndarray, policy: np.ndarray) -> np.ndarray:
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
    for _ in range(max_iter):  # evaluate the deterministic policy: (I - gamma tau[s, a(s)]) V = r[s, a(s)]
        r_pi = np.take_along_axis(r, action[..., None], -1)[..., 0]
        v = np.linalg.solve(eye - mdp.gamma * mdp.transition[states, action], r_pi[..., None])[..., 0]
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


def policy_return(mdp: TabularMDP, reward: np.ndarray, policy: np.ndarray) -> np.ndarray:
    """``J(pi) = E_{s0 ~ mu0}[V^pi(s0)]``."""
    return policy_evaluation(mdp, reward, policy) @ mdp.initial


def normalised_regret(mdp: TabularMDP, r_true: np.ndarray, r_proxy: np.ndarray) -> np.ndarray:
    """Regret under ``r_true`` of an optimal policy of ``r_proxy``, as a fraction of the range of returns:
    ``(J(pi*) - J(pi_proxy)) / (J(pi*) - J(pi_worst))`` (0 where all policies tie), in [0, 1]."""
    (c_true, scale), (c_proxy, _) = _levelled(mdp, r_true), _levelled(mdp, r_proxy)
    return _regret_of(
        mdp, c_true, scale, optimal_policy(mdp, c_true), worst_policy(mdp, c_true), optimal_policy(mdp, c_proxy)
    )


def _levelled(mdp: TabularMDP, reward: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The part of ``reward`` that orders policies, ``c_VAL(R)``, and R's scale ``max |r(s, a)| / (1 - gamma)``.

    ``J_c(pi) = J_R(pi) - E_{mu0}[V_R(S0)]`` for every policy (the shaping telescopes), so regrets are the
    same computed on c. They are computed on c because the paper's random rewards can be shaping and
    shifts of size ~100 around a policy-relevant part of size ~1e-8 (entries on transitions of
    probability e^-20), which would otherwise be lost in rounding."""
    return val_canonical(mdp, reward), np.abs(expected_reward(mdp, reward)).max((-2, -1)) / (1 - mdp.gamma)


def _regret_of(
    mdp: TabularMDP, reward: np.ndarray, scale: np.ndarray, best_pi: np.ndarray, worst_pi: np.ndarray, pi: np.ndarray
) -> np.ndarray:
    """``(J(best_pi) - J(pi)) / (J(best_pi) - J(worst_pi))`` under ``reward``; 0 where all policies tie,
    i.e. where the range of returns is below ``1e-13 * scale``, 50 times the rounding error of returns
    of that scale (e.g. a reward that is only potential shaping and a constant)."""
    best, worst, proxy = (policy_return(mdp, reward, p) for p in (best_pi, worst_pi, pi))
    span = best - worst
    tiny = span <= 1e-13 * scale
    return np.where(tiny, 0.0, (best - proxy) / np.where(tiny, 1.0, span))


def symmetric_regret(mdp: TabularMDP, r1: np.ndarray, r2: np.ndarray) -> np.ndarray:
    """Mean of the normalised regret in both directions (the paper's analysis averages the two);
    each reward's optimal and worst policies are computed once."""
    (c1, scale1), (c2, scale2) = _levelled(mdp, r1), _levelled(mdp, r2)
    best1, worst1, best2, worst2 = (optimal_policy(mdp, c) for c in (c1, -c1, c2, -c2))
    return 0.5 * (_regret_of(mdp, c1, scale1, best1, worst1, best2) + _regret_of(mdp, c2, scale2, best2, worst2, best1))


# --------------------------------------------------------------------------- canonicalisations


def no_canonical(mdp: TabularMDP, reward: np.ndarray) -> np.ndarray:
    """The identity: the baseline with no canonicalisation."""
    return np.array(reward, dtype=float)


def epic_canonical(mdp: TabularMDP, reward: np.ndarray) -> np.ndarray:
    """EPIC (Gleave et al. 2021) with uniform D_S, D_A, ignoring the dynamics:
    ``R(s,a,s') + E[gamma R(s',A,S') - R(s,A,S') - gamma R(S,A,S')]``."""
    phi = reward.mean((-2, -1))  # E_{A, S'}[R(s, A, S')]
    const = mdp.gamma * reward.mean((-3, -2, -1))
    return reward + mdp.gamma * phi[..., None, None, :] - phi[..., :, None, None] - const[..., None, None, None]


def dard_canonical(mdp: TabularMDP, reward: np.ndarray) -> np.ndarray:
    """DARD (Wulfe et al. 2022) with uniform D_A and the true dynamics:
    ``R(s,a,s') + E[gamma R(s',A,S'') - R(s,A,S') - gamma R(S',A,S'')]``,
    ``A ~ D_A``, ``S' ~ tau(s, A)``, ``S'' ~ tau(s', A)``."""
    phi = expected_reward(mdp, reward).mean(-1)  # E_{A, S'~tau(s,A)}[R(s, A, S')]
    tau_a = np.moveaxis(mdp.transition, 1, 0)  # [a, s, x]
    r_a = np.moveaxis(reward, -2, -3)  # [..., a, x, y]
    # E over A of sum_{x, y} tau(s, A, x) R(x, A, y) tau(s', A, y)  -> [..., s, s']
    cross = (tau_a @ r_a @ np.swapaxes(tau_a, -1, -2)).mean(-3)
    shaped = mdp.gamma * phi[..., None, :] - phi[..., :, None] - mdp.gamma * cross  # [..., s, s']
    return reward + shaped[..., :, None, :]


def uniform_policy(mdp: TabularMDP) -> np.ndarray:
    return np.full((mdp.n_states, mdp.n_actions), 1 / mdp.n_actions)


def val_canonical(mdp: TabularMDP, reward: np.ndarray, policy: np.ndarray | None = None) -> np.ndarray:
    """Value-Adjusted Levelling (Skalse et al. 2024): ``E_{S'~tau(s,a)}[R(s,a,S') - V^pi(s) + gamma V^pi(S')]``
    for a fixed policy (uniform by default). It is the advantage ``A^pi(s, a)``, constant in s'
    (returned with a last axis of length 1)."""
    pi = uniform_policy(mdp) if policy is None else policy
    v = policy_evaluation(mdp, reward, pi)
    next_v = np.einsum("sat,...t->...sa", mdp.transition, v)
    advantage = expected_reward(mdp, reward) + mdp.gamma * next_v - v[..., None]
    return advantage[..., None]


def minimal_canonical(mdp: TabularMDP, reward: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Minimal canonicalisation (Skalse et al. 2024) for the weighted L2 norm with ``weights[s,a,s']``
    (default ``tau``, the paper's weighted norm): the reward of least norm among all rewards that
    differ from R by potential shaping and S'-redistribution.

    Closed form. Every equivalent reward has ``E_tau[R'(s,a,.)] = m_Phi(s,a) = r(s,a) + gamma
    (tau Phi)(s,a) - Phi(s)`` for some Phi. For fixed m, the least-norm R' is
    ``m kappa tau / w`` with ``kappa = 1 / sum_s' tau^2 / w`` (norm^2 ``sum kappa m^2``), so Phi solves
    a kappa-weighted least-squares problem. With ``w = tau``: kappa = 1 and R' = m, constant in s'
    (returned with a last axis of length 1).
    """
    tau = mdp.transition
    w = tau if weights is None else np.asarray(weights, float)
    if w.shape != tau.shape or (w <= 0).any():
        raise ValueError(f"weights must be positive with shape {tau.shape}")
    kappa = 1 / (tau**2 / w).sum(-1)  # [s, a]
    n_s, n_a = mdp.n_states, mdp.n_actions
    # m_Phi = r + M Phi, M[(s,a), x] = gamma tau(s,a,x) - [x == s]
    shaping = mdp.gamma * tau.reshape(n_s * n_a, n_s) - np.repeat(np.eye(n_s), n_a, axis=0)
    root = np.sqrt(kappa).reshape(-1, 1)
    r = expected_reward(mdp, reward).reshape(*reward.shape[:-3], n_s * n_a)
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
            weights = np.ones((*tau.shape[:2], 1)) if weighted else np.full((*tau.shape[:2], 1), mdp.n_states)
    else:
        weights = tau if weighted else None
    flat = np.reshape(x, (*np.shape(x)[:-3], -1))  # [..., S*A*S']: weighted sums become dot products
    w = None if weights is None else weights.ravel()
    if order == "2":
        total = np.einsum("...i,...i->...", flat, flat) if w is None else (flat * flat) @ w
        return np.sqrt(total)
    a = np.abs(flat)
    if order == "1":
        return a.sum(-1) if w is None else a @ w
    return (a if w is None else a * w).max(-1)


NORMS: tuple[str, ...] = ("L1", "L2", "Linf", "wL1", "wL2", "wLinf", "none")
METRICS: tuple[str, ...] = NORMS[:-1]


def standardise(
    mdp: TabularMDP, canonical: np.ndarray, norm: str = "L2", reward: np.ndarray | None = None, rtol: float = 1e-9
) -> np.ndarray:
    """STARC's standardisation ``s(R) = c(R) / n(c(R))``, and ``c(R)`` itself where ``n(c(R)) = 0``.

    ``n(c(R))`` counts as 0 when it is at most ``rtol`` times ``n(R)``, the same norm of the reward
    itself (``reward``; without it only an exact 0 counts): a pure potential-shaping reward with a
    large potential leaves only rounding noise in ``c(R)``, and that noise must not be normalised
    to a unit vector. Batched over the leading axes, the scale taken per reward."""
    n = reward_norm(mdp, canonical, norm)
    scale = n if reward is None else reward_norm(mdp, reward, norm)
    zero = n <= rtol * scale
    return canonical / np.where(zero, 1.0, n)[..., None, None, None]


def starc_distance(
    mdp: TabularMDP, r1: np.ndarray, r2: np.ndarray, canonical: str = "VAL", norm: str = "L2", metric: str = "L2"
) -> np.ndarray:
    """The pseudometric ``d(R1, R2) = m(s(R1), s(R2))`` (the STARC metric), here with ``m(x, y) = metric(x - y)``.

    With ``canonical`` in {VAL, minimal} this is a STARC metric; with EPIC, DARD or none it is the
    same recipe on a map that is not a canonicalisation in the paper's sense.
    """
    if canonical not in CANONICALISATIONS:
        raise ValueError(f"unknown canonicalisation {canonical!r}; valid: {', '.join(CANONICALISATIONS)}")
    c = CANONICALISATIONS[canonical]
    return reward_norm(mdp, standardise(mdp, c(mdp, r1), norm, r1) - standardise(mdp, c(mdp, r2), norm, r2), metric)


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
        for n in dict.fromkeys(n for n, _ in cells):  # each normalisation once, in order
            diff = standardise(mdp, c1, n, r1) - standardise(mdp, c2, n, r2)
            for m in (m for n_, m in cells if n_ == n):
                out[c_name, n, m] = reward_norm(mdp, diff, m)
    return out


# --------------------------------------------------------------------------- the paper's experiment


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
    Returns ``(regret[N], {(c, n, m): distance[N]}, mdps)``, N = n_envs * n_pairs * n_steps."""
    regrets, grids, mdps = [], [], []
    for _ in track(range(n_envs), desc="random MDPs", enabled=progress):
        mdp = random_mdp(rng, n_states, n_actions, gamma)
        mdps.append(mdp)
        pairs = [
            (
                random_reward(mdp, rng, next_state_dependent=next_state_dependent),
                random_reward(mdp, rng, next_state_dependent=next_state_dependent),
            )
            for _ in range(n_pairs)
        ]
        r1 = np.stack([a for a, _ in pairs])[:, None]  # [pairs, 1, S, A, S]
        ri = interpolate(r1[:, 0], np.stack([b for _, b in pairs]), n_steps).swapaxes(0, 1)  # [pairs, steps, ...]
        regrets.append(symmetric_regret(mdp, r1, ri).ravel())
        grids.append({k: v.ravel() for k, v in distance_grid(mdp, r1, ri, canonicalisations, cells).items()})
    grid = {k: np.concatenate([g[k] for g in grids]) for k in grids[0]}
    return np.concatenate(regrets), grid, mdps


def property_report(
    mdp: TabularMDP, rng: np.random.Generator, n_triples: int = 100, min_signal: float = 1e-3
) -> dict[str, float]:
    """Measure STARC's defining properties on ``mdp`` with random rewards (VAL, L2 / L2 unless named):
    distances to a potential-shaped, an S'-redistributed and a 3.7x scaled copy (VAL and minimal:
    should be 0), EPIC and DARD distances to the S'-redistributed copy (not 0: they are not
    invariant), ``d(R, -R)`` (2), and on ``n_triples`` random triples the largest asymmetry,
    triangle-inequality violation and distance.

    The reward is redrawn while it is *nearly trivial* (``|c_VAL(R)| < min_signal |R|``): a sparse
    random reward whose few non-zero entries sit on transitions of probability ~e^-20 leaves every
    policy equally good up to ~1e-8, and standardising then divides rounding error by a tiny norm.
    """
    r = random_reward(mdp, rng)
    while np.linalg.norm(val_canonical(mdp, r)) < min_signal * np.linalg.norm(r):
        r = random_reward(mdp, rng)
    copies = {
        "shaped": potential_shaping(mdp, r, random_potential(mdp, rng)),
        "redistributed": s_prime_redistribution(mdp, r, 3 * r.std() * rng.standard_normal(r.shape)),
        "scaled": 3.7 * r,
    }
    out = {f"{c} to {k}": float(starc_distance(mdp, r, v, c)) for c in ("VAL", "minimal") for k, v in copies.items()}
    for c in ("EPIC", "DARD"):
        out[f"{c} to redistributed"] = float(starc_distance(mdp, r, copies["redistributed"], c))
    out["VAL d(R, -R)"] = float(starc_distance(mdp, r, -r))
    x, y, z = (np.stack([random_reward(mdp, rng) for _ in range(n_triples)]) for _ in range(3))
    dxy, dyz, dxz = starc_distance(mdp, x, y), starc_distance(mdp, y, z), starc_distance(mdp, x, z)
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


def bandit_canonical(reward: np.ndarray, policy: np.ndarray | None = None) -> np.ndarray:
    """VAL for a contextual bandit ``reward[..., x, y]`` (prompt x, response y, one step): the
    potential is ``V^pi(x) = E_{y~pi(x)} R(x, y)``, so canonicalising removes a per-prompt baseline."""
    pi = np.full(reward.shape[-2:], 1 / reward.shape[-1]) if policy is None else policy
    return reward - (pi * reward).sum(-1, keepdims=True)


def bandit_starc_distance(
    r1: np.ndarray, r2: np.ndarray, weights: np.ndarray | None = None, policy: np.ndarray | None = None
) -> np.ndarray:
    """STARC (VAL, weighted L2, weighted L2) distance of two contextual-bandit rewards ``[..., x, y]``;
    ``weights[x, y]`` (default uniform) is e.g. the prompt distribution times the sampling policy."""
    w = np.ones(r1.shape[-2:]) if weights is None else weights

    def unit(r):
        c = bandit_canonical(r, policy)
        n = np.sqrt((w * c**2).sum((-2, -1)))[..., None, None]
        return c / np.where(n > 0, n, 1.0)

    return np.sqrt((w * (unit(r1) - unit(r2)) ** 2).sum((-2, -1)))
