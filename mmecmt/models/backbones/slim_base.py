"""The slimmable-backbone protocol: named stages with a width ratio each."""
from typing import Dict, Mapping, Tuple

from mmecmt.models.slimmable.convert import (check_divisor, check_width_ratio,
                                             convert_to_dynamic_,
                                             scale_channels)


class SlimBackboneMixin:
    """``stage_names`` + ``set_stage_widths(widths)`` for a slimmable encoder.

    A subclass sets ``stage_names`` (the width-controlled units, in forward
    order) and ``divisor``, and implements :meth:`_apply_stage_ratios`, which
    writes the ``active_out_channels`` of its dynamic convs and returns the
    active output channels of every stage.

    Attributes:
        active_stage_channels: ``{stage: active output channels}`` derived by
            the last :meth:`set_stage_widths` (the full widths after
            construction).
    """

    stage_names: Tuple[str, ...] = ()
    divisor: int = 8

    def make_slimmable_(self, divisor: int) -> None:
        """End of a subclass constructor, after the static network is
        built: check ``divisor``, swap every conv / BN for its dynamic twin
        (:func:`convert_to_dynamic_`) and activate the full widths."""
        self.divisor = check_divisor(divisor, type(self).__name__)
        convert_to_dynamic_(self)
        self.set_stage_widths({})

    def set_stage_widths(self, widths: Mapping[str, float]) -> None:
        """Activate a width ratio per stage.

        Args:
            widths: ``{stage name: ratio in (0, 1]}``; a stage left out runs
                at ratio 1.0.

        Raises:
            ValueError: for an unknown stage (naming it and the valid
                stages) or a ratio outside (0, 1].
        """
        ratios = self.parse_stage_widths(widths)
        self.active_stage_channels = self._apply_stage_ratios(ratios)

    def parse_stage_widths(self, widths: Mapping[str, float]
                           ) -> Dict[str, float]:
        """``{stage: ratio}`` for every stage, missing ones at 1.0."""
        name = type(self).__name__
        if not isinstance(widths, Mapping):
            raise TypeError(
                f'{name}: stage widths must be a mapping {{stage: ratio}}, '
                f'got {type(widths).__name__}')
        unknown = [stage for stage in widths if stage not in self.stage_names]
        if unknown:
            raise ValueError(
                f'{name}: unknown stage(s) {unknown}; valid stages are '
                f'{list(self.stage_names)}')
        return {
            stage: check_width_ratio(
                widths.get(stage, 1.0), f'{name} stage {stage!r}')
            for stage in self.stage_names
        }

    def scaled(self, full: int, ratio: float) -> int:
        """Active channels of a layer with ``full`` channels (the width
        rule of :func:`scale_channels` with this backbone's divisor)."""
        return scale_channels(full, ratio, self.divisor)

    def train(self, mode: bool = True):
        """The backbone's ``train`` (frozen stages, ``norm_eval``),
        returning ``self`` as ``nn.Module.train`` does (the OpenMMLab
        backbones return ``None``, which breaks ``model.eval()`` chains)."""
        super().train(mode)
        return self

    def _apply_stage_ratios(self, ratios: Dict[str, float]) -> Dict[str, int]:
        raise NotImplementedError
