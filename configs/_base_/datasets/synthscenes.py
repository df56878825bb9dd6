# SynthScenes: the embedded, procedurally generated multi-task dataset
# (NYUD_MT layout). Generated into `data_root` on first use (~1 min).
dataset_type = 'SynthScenesDataset'
data_root = 'data/synthscenes'
synthscenes_generate = dict(
    num_train=1000, num_val=200, height=96, width=128, seed=0,
    with_parts=True)
synth_tasks = ('semseg', 'depth', 'normals', 'edge', 'sal')
# kind and class count of every task the data offers (7 classes, 8 parts +
# background with the default class list).
synth_task_info = dict(
    semseg=dict(kind='segmentation', num_classes=7),
    depth=dict(kind='depth'),
    normals=dict(kind='normals'),
    edge=dict(kind='edge'),
    sal=dict(kind='saliency'),
    parts=dict(kind='segmentation', num_classes=9),
)
crop_size = (96, 128)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadMultiTaskAnnotations'),
    dict(type='RandomResize', ratio_range=(0.75, 1.5)),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackMultiTaskInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadMultiTaskAnnotations'),
    dict(type='PackMultiTaskInputs'),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        tasks=synth_tasks,
        generate=synthscenes_generate,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='val',
        tasks=synth_tasks,
        generate=synthscenes_generate,
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
# edge tolerance: 0.0075 x image diagonal (the BSDS / PASCAL-Context
# setting of MTI-Net / ATRC / Multi-Task-Learning-PyTorch)
val_evaluator = dict(type='MultiTaskMetric', edge_max_dist=0.0075)
test_evaluator = val_evaluator
