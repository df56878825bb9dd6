from .architectures import *  # noqa: F401,F403
from .algorithms import *  # noqa: F401,F403
from .backbones import *  # noqa: F401,F403
from .controllers import *  # noqa: F401,F403
from .data_preprocessor import MultiTaskDataPreProcessor
from .heads import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .wrappers import *  # noqa: F401,F403

__all__ = ['MultiTaskDataPreProcessor']
