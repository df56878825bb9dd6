"""Runner loops of mmecmt."""
from .subnet_search_loop import SubnetSearchLoop
from .subnet_val_loop import (SubnetTestLoop, SubnetValLoop,
                              parse_subnet_entry, resolve_subnet)

__all__ = ['SubnetValLoop', 'SubnetTestLoop', 'SubnetSearchLoop',
           'parse_subnet_entry', 'resolve_subnet']
