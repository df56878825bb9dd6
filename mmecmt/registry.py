"""mmecmt's registries: children of mmsegmentation's.

Because every registry here has an mmseg registry as parent (and mmseg's have
mmengine's), a config with ``default_scope='mmecmt'`` can name the plugin's
modules directly (``type='MultiTaskEncoderDecoder'``) and reach mmseg's and
mmpretrain's with a scope prefix (``type='mmseg.ASPPHead'``,
``type='mmpretrain.MobileNetV2'``).
"""
from mmengine.registry import Registry
from mmseg.registry import DATA_SAMPLERS as MMSEG_DATA_SAMPLERS
from mmseg.registry import DATASETS as MMSEG_DATASETS
from mmseg.registry import EVALUATOR as MMSEG_EVALUATOR
from mmseg.registry import HOOKS as MMSEG_HOOKS
from mmseg.registry import INFERENCERS as MMSEG_INFERENCERS
from mmseg.registry import LOG_PROCESSORS as MMSEG_LOG_PROCESSORS
from mmseg.registry import LOOPS as MMSEG_LOOPS
from mmseg.registry import METRICS as MMSEG_METRICS
from mmseg.registry import MODEL_WRAPPERS as MMSEG_MODEL_WRAPPERS
from mmseg.registry import MODELS as MMSEG_MODELS
from mmseg.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMSEG_OPTIM_WRAPPER_CONSTRUCTORS
from mmseg.registry import OPTIM_WRAPPERS as MMSEG_OPTIM_WRAPPERS
from mmseg.registry import OPTIMIZERS as MMSEG_OPTIMIZERS
from mmseg.registry import PARAM_SCHEDULERS as MMSEG_PARAM_SCHEDULERS
from mmseg.registry import RUNNER_CONSTRUCTORS as MMSEG_RUNNER_CONSTRUCTORS
from mmseg.registry import RUNNERS as MMSEG_RUNNERS
from mmseg.registry import TASK_UTILS as MMSEG_TASK_UTILS
from mmseg.registry import TRANSFORMS as MMSEG_TRANSFORMS
from mmseg.registry import VISBACKENDS as MMSEG_VISBACKENDS
from mmseg.registry import VISUALIZERS as MMSEG_VISUALIZERS
from mmseg.registry import WEIGHT_INITIALIZERS as MMSEG_WEIGHT_INITIALIZERS

RUNNERS = Registry('runner', parent=MMSEG_RUNNERS, scope='mmecmt')
RUNNER_CONSTRUCTORS = Registry(
    'runner constructor', parent=MMSEG_RUNNER_CONSTRUCTORS, scope='mmecmt')
LOOPS = Registry(
    'loop', parent=MMSEG_LOOPS, scope='mmecmt',
    locations=['mmecmt.engine'])
HOOKS = Registry(
    'hook', parent=MMSEG_HOOKS, scope='mmecmt', locations=['mmecmt.engine'])

DATASETS = Registry(
    'dataset', parent=MMSEG_DATASETS, scope='mmecmt',
    locations=['mmecmt.datasets'])
DATA_SAMPLERS = Registry(
    'data sampler', parent=MMSEG_DATA_SAMPLERS, scope='mmecmt')
TRANSFORMS = Registry(
    'transform', parent=MMSEG_TRANSFORMS, scope='mmecmt',
    locations=['mmecmt.datasets.transforms'])

MODELS = Registry(
    'model', parent=MMSEG_MODELS, scope='mmecmt', locations=['mmecmt.models'])
MODEL_WRAPPERS = Registry(
    'model_wrapper', parent=MMSEG_MODEL_WRAPPERS, scope='mmecmt',
    locations=['mmecmt.models'])
WEIGHT_INITIALIZERS = Registry(
    'weight initializer', parent=MMSEG_WEIGHT_INITIALIZERS, scope='mmecmt',
    locations=['mmecmt.models'])

OPTIMIZERS = Registry('optimizer', parent=MMSEG_OPTIMIZERS, scope='mmecmt')
OPTIM_WRAPPERS = Registry(
    'optim_wrapper', parent=MMSEG_OPTIM_WRAPPERS, scope='mmecmt')
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor',
    parent=MMSEG_OPTIM_WRAPPER_CONSTRUCTORS, scope='mmecmt')
PARAM_SCHEDULERS = Registry(
    'parameter scheduler', parent=MMSEG_PARAM_SCHEDULERS, scope='mmecmt')

METRICS = Registry(
    'metric', parent=MMSEG_METRICS, scope='mmecmt',
    locations=['mmecmt.evaluation'])
EVALUATOR = Registry(
    'evaluator', parent=MMSEG_EVALUATOR, scope='mmecmt',
    locations=['mmecmt.evaluation'])

TASK_UTILS = Registry(
    'task util', parent=MMSEG_TASK_UTILS, scope='mmecmt',
    locations=['mmecmt.models'])

VISUALIZERS = Registry(
    'visualizer', parent=MMSEG_VISUALIZERS, scope='mmecmt',
    locations=['mmecmt.visualization'])
VISBACKENDS = Registry(
    'vis_backend', parent=MMSEG_VISBACKENDS, scope='mmecmt')
LOG_PROCESSORS = Registry(
    'log_processor', parent=MMSEG_LOG_PROCESSORS, scope='mmecmt')
INFERENCERS = Registry(
    'inferencer', parent=MMSEG_INFERENCERS, scope='mmecmt')
# The deployment contract (mmecmt.deploy): one deployer per method family,
# named by a config's ``deploy = dict(type=...)``. mmseg and mmengine have
# no such registry, so this one is a root of its own.
DEPLOYERS = Registry('deployer', scope='mmecmt', locations=['mmecmt.deploy'])
