"""Node-usage probabilities and the branching regulariser of CDMA
(Controllable Dynamic Multi-Task Architectures, Raychaudhuri et al., CVPR
2022)."""
import warnings

import numpy as np
import pytest
import torch

from mmecmt.models.losses import BranchingRegularizer
from mmecmt.models.tree import node_usage_probability
from mmecmt.models.tree import usage as usage_module
from mmecmt.registry import MODELS

pytestmark = pytest.mark.usefixtures('one_thread')


def _random_nu(rng, num_levels, num_tasks, concentration):
    nu = rng.dirichlet([concentration] * num_tasks,
                       size=(num_levels, num_tasks))
    return torch.from_numpy(nu)


def _monte_carlo_usage(nu, num_samples, seed):
    """Sample trees (each child's parent from nu), propagate usage from the
    top level down; return the (L + 1, N) frequencies of used nodes."""
    nu = nu.numpy()
    num_levels, num_tasks = nu.shape[0], nu.shape[1]
    rng = np.random.default_rng(seed)
    used = np.ones((num_samples, num_tasks), dtype=bool)
    freqs = [used.mean(0)]
    cdf = np.cumsum(nu, axis=2)
    for level in range(num_levels - 1, -1, -1):
        u = rng.random((num_samples, num_tasks))
        # parent[s, k]: the parent picked by child (level + 1, k).
        parent = (u[:, :, None] > cdf[level][None]).sum(-1)
        parent = np.minimum(parent, num_tasks - 1)
        onehot = parent[:, :, None] == np.arange(num_tasks)  # (S, k, i)
        used = (onehot & used[:, :, None]).any(axis=1)
        freqs.append(used.mean(0))
    return np.stack(freqs[::-1])


def _independence_recursion(nu):
    """P_use(l, i) = 1 - prod_k (1 - P_use(l + 1, k) nu[l, k, i]), plain
    Python loops."""
    num_levels, num_tasks = nu.shape[0], nu.shape[1]
    nu = nu.tolist()
    rows = [[1.0] * num_tasks]
    for level in range(num_levels - 1, -1, -1):
        upper = rows[0]
        row = []
        for i in range(num_tasks):
            prod = 1.0
            for k in range(num_tasks):
                prod *= 1 - upper[k] * nu[level][k][i]
            row.append(1 - prod)
        rows.insert(0, row)
    return torch.tensor(rows, dtype=torch.float64)


# ----------------------------------------------------------------------------
# node_usage_probability
# ----------------------------------------------------------------------------


@pytest.mark.parametrize('num_tasks,num_levels,concentration,seed', [
    (2, 2, 0.2, 0), (3, 5, 1.0, 1), (4, 3, 5.0, 2), (5, 4, 0.2, 3),
    (5, 2, 1.0, 4), (3, 3, 5.0, 5), (4, 5, 1.0, 6), (2, 4, 5.0, 7),
    (5, 5, 0.2, 8)
])
def test_usage_matches_monte_carlo(num_tasks, num_levels, concentration,
                                   seed):
    rng = np.random.default_rng(100 + seed)
    nu = _random_nu(rng, num_levels, num_tasks, concentration)
    exact = node_usage_probability(nu)
    assert exact.shape == (num_levels + 1, num_tasks)
    assert exact.dtype == nu.dtype
    assert torch.equal(exact[-1], torch.ones(num_tasks, dtype=nu.dtype))
    sampled = _monte_carlo_usage(nu, num_samples=100_000, seed=seed)
    np.testing.assert_allclose(exact.numpy(), sampled, atol=0.01)


def test_usage_hand_computed():
    # N = 2, L = 2. Top edges nu[1] = [[a, 1-a], [b, 1-b]], both children of
    # level 2 used. Lower edges nu[0] = [[c, 1-c], [d, 1-d]].
    a, b, c, d = 0.8, 0.3, 0.9, 0.2
    nu = torch.tensor([[[c, 1 - c], [d, 1 - d]], [[a, 1 - a], [b, 1 - b]]],
                      dtype=torch.float64)
    # Level 1: node 0 unused iff both top children pick 1.
    p10 = 1 - (1 - a) * (1 - b)  # 0.86
    p11 = 1 - a * b  # 0.76
    # Used set of level 1: {0} w.p. a*b, {1} w.p. (1-a)(1-b), {0,1} w.p.
    # a(1-b) + (1-a)b. Node (0, 0) unused iff no used node picks 0.
    s0, s1, s01 = a * b, (1 - a) * (1 - b), a * (1 - b) + (1 - a) * b
    p00 = 1 - (s0 * (1 - c) + s1 * (1 - d) + s01 * (1 - c) * (1 - d))
    p01 = 1 - (s0 * c + s1 * d + s01 * c * d)
    expected = torch.tensor([[p00, p01], [p10, p11], [1.0, 1.0]],
                            dtype=torch.float64)
    assert abs(p00 - 0.8144) < 1e-12 and abs(p01 - 0.6444) < 1e-12
    torch.testing.assert_close(node_usage_probability(nu), expected)

    # All marginals 0.5: exact 0.625 on level 0, where the independence
    # recursion gives 1 - (1 - 0.75 * 0.5)^2 = 0.609375.
    half = torch.full((2, 2, 2), 0.5, dtype=torch.float64)
    torch.testing.assert_close(
        node_usage_probability(half),
        torch.tensor([[0.625, 0.625], [0.75, 0.75], [1.0, 1.0]],
                     dtype=torch.float64))
    assert _independence_recursion(half)[0, 0].item() == pytest.approx(
        0.609375)

    # One level, a single used child picking deterministically.
    one = torch.tensor([[[1.0, 0.0], [1.0, 0.0]]])
    torch.testing.assert_close(node_usage_probability(one),
                               torch.tensor([[1.0, 0.0], [1.0, 1.0]]))


def test_usage_fallback_above_exact_max(monkeypatch):
    monkeypatch.setattr(usage_module, '_warned_task_counts', set())
    num_tasks = usage_module.EXACT_MAX_TASKS + 1
    assert num_tasks == 11
    rng = np.random.default_rng(0)
    nu = _random_nu(rng, 3, num_tasks, 1.0)
    with pytest.warns(UserWarning, match=r'N=11.*approximation'):
        approx = node_usage_probability(nu)
    torch.testing.assert_close(approx, _independence_recursion(nu))
    # Warns once per N.
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        node_usage_probability(nu)


def test_usage_exact_at_max_without_warning():
    rng = np.random.default_rng(1)
    nu = _random_nu(rng, 2, usage_module.EXACT_MAX_TASKS, 1.0).float()
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        usage = node_usage_probability(nu)
    assert usage.dtype == torch.float32
    assert ((usage >= -1e-6) & (usage <= 1 + 1e-6)).all()


def test_usage_gradients():
    torch.manual_seed(0)
    logits = torch.randn(3, 4, 4, dtype=torch.float64, requires_grad=True)
    usage = node_usage_probability(logits.softmax(-1))
    (usage * torch.arange(1.0, 5.0, dtype=torch.float64)).sum().backward()
    assert torch.isfinite(logits.grad).all()
    assert logits.grad.abs().sum() > 0

    small = torch.randn(2, 3, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda x: node_usage_probability(x.softmax(-1)), (small, ))


def test_usage_validation():
    with pytest.raises(ValueError, match=r'\(L, N, N\).*\(2, 3\)'):
        node_usage_probability(torch.full((2, 3), 1 / 3))
    with pytest.raises(ValueError, match=r'\(2, 3, 2\)'):
        node_usage_probability(torch.full((2, 3, 2), 0.5))
    nu = torch.full((2, 3, 3), 1 / 3)
    nu[1, 2] = torch.tensor([0.5, 0.3, 0.3])
    with pytest.raises(ValueError, match='level 1, child 2'):
        node_usage_probability(nu)
    nu = torch.full((2, 3, 3), 1 / 3)
    nu[0, 1] = torch.tensor([1.2, -0.2, 0.0])
    with pytest.raises(ValueError, match='level 0, child 1'):
        node_usage_probability(nu)


# ----------------------------------------------------------------------------
# BranchingRegularizer
# ----------------------------------------------------------------------------


def _hand_case():
    nu = torch.tensor(
        [[[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.2, 0.3, 0.5]],
         [[0.5, 0.5, 0.0], [0.5, 0.0, 0.5], [0.0, 0.0, 1.0]]],
        dtype=torch.float64)
    preference = torch.tensor([0.5, 0.4, 0.1], dtype=torch.float64)
    affinity = torch.tensor(
        [[1.0, 0.8, 0.3], [0.6, 1.0, 0.2], [0.3, 0.2, 1.0]],
        dtype=torch.float64)
    return nu, preference, affinity


def test_regularizer_hand_computed():
    nu, preference, affinity = _hand_case()
    reg = BranchingRegularizer(lambda_active=2.0, lambda_inactive=0.1)
    # tau = 0.6 / 3 = 0.2: active {0, 1}, inactive {2}.
    assert reg.active_tasks(preference).tolist() == [True, True, False]
    # Level-1 usage from the top edges nu[1] (level-2 children all used):
    # P(1,0) = 1 - 0.5*0.5*1 = 0.75, P(1,1) = 1 - 0.5*1*1 = 0.5.
    p10, p11 = 0.75, 0.5
    # l = 0, weight 2/2: ||nu[0,0] - nu[0,1]||^2 = 0.25 + 0.25 = 0.5.
    term0 = 1.0 * (0.8 + 0.6) * p10 * p11 * 0.5  # 0.2625
    # l = 1, weight 1/2, P_use[2] = 1: ||(0, 0.5, -0.5)||^2 = 0.5.
    term1 = 0.5 * (0.8 + 0.6) * 1.0 * 1.0 * 0.5  # 0.35
    l_active = term0 + term1
    # Inactive task 2: l = 0: min(0.64+0.09+0.25, 0.09+0.04+0.25) = 0.38;
    # l = 1: min(0.25+0.25+1, 0.25+0+0.25) = 0.5.
    l_inactive = 0.38 + 0.5
    cost = 0.5
    out = reg(nu, preference, cost, affinity)
    assert set(out) == {'loss_branch_active', 'loss_branch_inactive'}
    assert out['loss_branch_active'].item() == pytest.approx(
        cost * 2.0 * l_active)  # 0.6125
    assert out['loss_branch_inactive'].item() == pytest.approx(
        0.1 * l_inactive)  # 0.088
    # Same with a 0-d tensor cost and float32 inputs.
    out32 = reg(nu.float(), preference.float(), torch.tensor(cost),
                affinity.float())
    assert out32['loss_branch_active'].dtype == torch.float32
    assert out32['loss_branch_active'].item() == pytest.approx(
        0.6125, abs=1e-5)


def test_regularizer_tau_and_activity():
    assert BranchingRegularizer().threshold(3) == pytest.approx(0.2)
    assert BranchingRegularizer().threshold(5) == pytest.approx(0.12)
    assert BranchingRegularizer(tau=0.3).threshold(5) == 0.3
    reg = BranchingRegularizer()
    # r_2 = 0.19 < 0.2: inactive; r equal to tau counts as active.
    mask = reg.active_tasks(torch.tensor([0.41, 0.4, 0.19]))
    assert mask.tolist() == [True, True, False]
    mask = BranchingRegularizer(tau=0.25).active_tasks(
        torch.tensor([0.5, 0.25, 0.25]))
    assert mask.tolist() == [True, True, True]

    nu, preference, affinity = _hand_case()
    # Task 2 made active (tau = 0.05): no inactive term, and pairs with
    # task 2 join the active term.
    out = BranchingRegularizer(tau=0.05)(nu, preference, 1.0, affinity)
    assert out['loss_branch_inactive'].item() == 0.0
    base = BranchingRegularizer(tau=0.2)(nu, preference, 1.0, affinity)
    assert out['loss_branch_active'] > base['loss_branch_active']


def test_regularizer_zero_cases_and_gradients():
    nu, preference, affinity = _hand_case()
    reg = BranchingRegularizer()
    out = reg(nu, preference, 0.0, affinity)
    assert out['loss_branch_active'].item() == 0.0
    assert out['loss_branch_inactive'].item() > 0

    # Identical rows among the active tasks: zero active loss.
    same = nu.clone()
    same[:, 1] = same[:, 0]
    out = reg(same, preference, 1.0, affinity)
    assert out['loss_branch_active'].item() == 0.0

    logits = torch.randn(2, 3, 3, dtype=torch.float64, requires_grad=True)
    out = reg(logits.softmax(-1), preference, 0.7, affinity)
    (out['loss_branch_active'] + out['loss_branch_inactive']).backward()
    assert torch.isfinite(logits.grad).all()
    assert logits.grad.abs().sum() > 0


def test_regularizer_errors():
    nu, preference, affinity = _hand_case()
    reg = BranchingRegularizer()
    with pytest.raises(ValueError, match='sum to 1'):
        reg(nu, torch.tensor([0.5, 0.4, 0.2]), 0.5, affinity)
    with pytest.raises(ValueError, match='>= 0'):
        reg(nu, torch.tensor([1.2, -0.3, 0.1]), 0.5, affinity)
    with pytest.raises(ValueError, match=r'preference must have shape \(3,\)'):
        reg(nu, torch.tensor([0.5, 0.5]), 0.5, affinity)
    with pytest.raises(ValueError, match=r'cost must be in \[0, 1\].*1\.5'):
        reg(nu, preference, 1.5, affinity)
    with pytest.raises(ValueError, match=r'cost must be in \[0, 1\]'):
        reg(nu, preference, torch.tensor(-0.1), affinity)
    with pytest.raises(ValueError, match=r'affinity must have shape \(3, 3\)'):
        reg(nu, preference, 0.5, affinity[:2])
    with pytest.raises(ValueError, match=r'\(L, N, N\)'):
        reg(nu[0], preference, 0.5, affinity)
    with pytest.raises(ValueError, match='no active task'):
        BranchingRegularizer(tau=0.6)(nu, preference, 0.5, affinity)
    with pytest.raises(ValueError, match='tau'):
        BranchingRegularizer(tau=1.5)
    with pytest.raises(ValueError, match='lambda_active'):
        BranchingRegularizer(lambda_active=-1.0)


def test_regularizer_registered():
    reg = MODELS.build(dict(type='BranchingRegularizer', lambda_active=0.5,
                            tau=0.1))
    assert isinstance(reg, BranchingRegularizer)
    assert reg.lambda_active == 0.5 and reg.tau == 0.1


def test_inactive_rows_follow_the_active_ones():
    """With inactive_follows_active (the default) the inactive term moves
    only the inactive rows; without it, the active row too."""
    torch.manual_seed(0)
    nu = torch.softmax(torch.randn(2, 3, 3), -1).requires_grad_(True)
    r = torch.tensor([0.9, 0.05, 0.05])  # task 0 active, 1 and 2 inactive
    affinity = torch.ones(3, 3)
    grads = {}
    for follows in (True, False):
        reg = BranchingRegularizer(inactive_follows_active=follows)
        loss = reg(nu, r, 0.0, affinity)['loss_branch_inactive']
        grads[follows], = torch.autograd.grad(loss, nu)
    assert torch.equal(grads[True][:, 0], torch.zeros(2, 3))
    assert grads[False][:, 0].abs().sum() > 0
    assert torch.allclose(grads[True][:, 1:], grads[False][:, 1:])
