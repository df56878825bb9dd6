"""Runner loops of mmecmt."""
from .subnet_val_loop import (SubnetTestLoop, SubnetValLoop,
                              parse_subnet_entry, resolve_subnet)

__all__ = ['SubnetValLoop', 'SubnetTestLoop', 'parse_subnet_entry',
           'resolve_subnet']
