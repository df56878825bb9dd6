"""mmecmt: controllable multi-task dense prediction for OpenMMLab."""
import os.path as osp

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))

# The pinned stack (docs/get_started.md). mmcv 2.1.0 has no wheel for this
# torch: scripts/install_env.sh builds one (with ops, -std=c++20) before this
# file's requirements are resolved, so pip finds it already installed.
INSTALL_REQUIRES = [
    'torch==2.14.1',
    'torchvision==0.29.1',
    'mmengine==0.10.7',
    'mmcv==2.1.0',
    'mmsegmentation==1.2.2',
    'ftfy',
    'regex',
    'mmpretrain==1.2.0',
    'fvcore',
    'moocore==0.3.2',
    'numpy>=1.24,<2.4',
    'scipy',
    'matplotlib',
    'opencv-python-headless',
    'pillow',
]

EXTRAS_REQUIRE = {
    'tests': ['pytest', 'pytest-timeout'],
    # ONNX export and its check (tools/deploy.py --onnx)
    'deploy': ['onnx', 'onnxruntime', 'onnxscript'],
}


def read_version() -> str:
    namespace: dict = {}
    with open(osp.join(HERE, 'mmecmt', 'version.py')) as f:
        exec(f.read(), namespace)
    return namespace['__version__']


setup(
    name='mmecmt',
    version=read_version(),
    description='Controllable multi-task dense prediction (ECMT, CDMA, '
    'InterroGate) as an OpenMMLab plugin',
    long_description=open(osp.join(HERE, 'README.md')).read(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['mmecmt', 'mmecmt.*']),
    python_requires='>=3.10',
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS_REQUIRE,
    license='Apache-2.0',
)
