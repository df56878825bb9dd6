# NYUD-v2 in the NYUD_MT layout (MTI-Net / ATRC / Multi-Task-Learning-PyTorch):
#   data/NYUD_MT/{gt_sets,images,segmentation,depth,normals,edge}
# 795 train / 654 val images of 425 x 560; 40 semantic classes.
dataset_type = 'NYUDv2Dataset'
data_root = 'data/NYUD_MT'
nyud_tasks = ('semseg', 'depth', 'normals', 'edge')
nyud_task_info = dict(
    semseg=dict(kind='segmentation', num_classes=40),
    depth=dict(kind='depth'),
    normals=dict(kind='normals'),
    edge=dict(kind='edge'),
)
crop_size = (416, 544)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadMultiTaskAnnotations'),
    dict(type='RandomResize', ratio_range=(0.5, 2.0)),
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
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type, data_root=data_root, split='train',
        tasks=nyud_tasks, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type, data_root=data_root, split='val',
        tasks=nyud_tasks, test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
# NYUD edges: tolerance 0.011 x image diagonal (the NYUD-v2 setting of
# MTI-Net / ATRC / Multi-Task-Learning-PyTorch)
val_evaluator = dict(type='MultiTaskMetric', edge_max_dist=0.011)
test_evaluator = val_evaluator
