"""Register every mmecmt module and set the default registry scope."""
import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every module that registers something in mmecmt's registries.

    Also imports mmseg's and mmpretrain's modules so that ``mmseg.X`` and
    ``mmpretrain.X`` types resolve from an mmecmt config, and applies the
    stack fixes of :mod:`mmecmt.utils.compat`.

    Args:
        init_default_scope: set the default scope to ``'mmecmt'``.
    """
    import mmpretrain.models  # noqa: F401,F811
    import mmseg.datasets  # noqa: F401,F811
    import mmseg.engine  # noqa: F401,F811
    import mmseg.evaluation  # noqa: F401,F811
    import mmseg.models  # noqa: F401,F811

    import mmecmt.datasets  # noqa: F401,F811
    import mmecmt.engine  # noqa: F401,F811
    import mmecmt.evaluation  # noqa: F401,F811
    import mmecmt.models  # noqa: F401,F811
    import mmecmt.visualization  # noqa: F401,F811
    from mmecmt.utils.compat import apply_stack_fixes
    apply_stack_fixes()

    if init_default_scope:
        never_created = DefaultScope.get_current_instance() is None \
            or not DefaultScope.check_instance_created('mmecmt')
        if never_created:
            DefaultScope.get_instance('mmecmt', scope_name='mmecmt')
            return
        current_scope = DefaultScope.get_current_instance()
        if current_scope.scope_name != 'mmecmt':
            warnings.warn('The current default scope '
                          f'"{current_scope.scope_name}" is not "mmecmt", '
                          '`register_all_modules` will force the current'
                          'default scope to be "mmecmt". If this is not '
                          'expected, please set `init_default_scope=False`.')
            new_instance_name = f'mmecmt-{datetime.datetime.now()}'
            DefaultScope.get_instance(new_instance_name, scope_name='mmecmt')
