# A tiny SynthScenes (32 train / 16 val images at 48 x 64, no workers) for
# smoke tests: the data settings of the `*_tiny.py` configs.
from mmengine.config import read_base

with read_base():
    from .synthscenes import *  # noqa: F401,F403

data_root = 'data/synthscenes_tiny'
synthscenes_generate.update(num_train=32, num_val=16, height=48, width=64)
crop_size = (48, 64)
train_dataloader.dataset.pipeline[3].update(crop_size=crop_size)
for loader in (train_dataloader, val_dataloader):
    loader.update(batch_size=4, num_workers=0, persistent_workers=False)
    loader.dataset.update(data_root=data_root, generate=synthscenes_generate)
test_dataloader = val_dataloader
