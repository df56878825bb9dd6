"""The sandwich rule: which subnets one training step trains.

Every step trains the largest subnet, the smallest one and ``num_random``
uniformly random ones (Universally Slimmable Networks / BigNAS). The random
members are drawn from ``np.random.default_rng([seed, iteration])``, so they
depend only on the seed and the training iteration: every rank of a
distributed run draws the same subnets without communicating, and a resumed
run draws the same subnets as the uninterrupted one.
"""
from typing import List, Optional, Tuple

import numpy as np

from .space import SearchSpace, SubnetSpec

#: name of the largest member: its features are the CI-KD teacher.
MAX_MEMBER = 'max'
#: name of the smallest member.
MIN_MEMBER = 'min'


def random_member_name(index: int) -> str:
    """Name of the ``index``-th random member: ``'rand0'``, ``'rand1'`` ..."""
    return f'rand{index}'


class SandwichSampler:
    """The members of one sandwich-rule step, in training order.

    Args:
        search_space: the width choices.
        num_random: K, the number of random subnets per step (>= 0).
        seed: seed of the random members (combined with the iteration).
    """

    def __init__(self, search_space: SearchSpace, num_random: int = 2,
                 seed: int = 0):
        if not isinstance(search_space, SearchSpace):
            raise TypeError('SandwichSampler needs a SearchSpace, got '
                            f'{type(search_space).__name__}')
        if int(num_random) != num_random or num_random < 0:
            raise ValueError(
                f'num_random must be an integer >= 0, got {num_random!r}')
        if int(seed) != seed or seed < 0:
            raise ValueError(f'seed must be an integer >= 0, got {seed!r}')
        self.search_space = search_space
        self.num_random = int(num_random)
        self.seed = int(seed)
        self._calls = 0

    @property
    def member_names(self) -> Tuple[str, ...]:
        """``('max', 'min', 'rand0', ..., 'rand{K-1}')``."""
        return (MAX_MEMBER, MIN_MEMBER) + tuple(
            random_member_name(i) for i in range(self.num_random))

    @staticmethod
    def current_iteration() -> Optional[int]:
        """The training iteration from mmengine's current MessageHub (set by
        ``RuntimeInfoHook`` before every train iteration), or None outside a
        Runner."""
        from mmengine.logging import MessageHub
        iteration = MessageHub.get_current_instance().get_info('iter')
        return None if iteration is None else int(iteration)

    def sample(self, iteration: Optional[int] = None
               ) -> List[Tuple[str, SubnetSpec]]:
        """The members of one step: ``[(name, spec), ...]``, max first.

        Args:
            iteration: the training iteration. None: read it from the
                MessageHub; when no Runner has set it either, a call counter
                of this sampler is used (0, 1, 2, ... per call), which is
                deterministic but not resume-safe.

        Returns:
            ``[('max', ...), ('min', ...), ('rand0', ...), ...]``.
        """
        if iteration is None:
            iteration = self.current_iteration()
        if iteration is None:
            iteration = self._calls
        if int(iteration) != iteration or iteration < 0:
            raise ValueError(
                f'iteration must be an integer >= 0, got {iteration!r}')
        self._calls += 1
        rng = np.random.default_rng([self.seed, int(iteration)])
        members = [(MAX_MEMBER, self.search_space.sample('max')),
                   (MIN_MEMBER, self.search_space.sample('min'))]
        for i in range(self.num_random):
            members.append((random_member_name(i),
                            self.search_space.sample('random', rng)))
        return members
