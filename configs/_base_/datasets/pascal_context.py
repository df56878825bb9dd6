# PASCAL-Context in the PASCAL_MT layout, 5 tasks:
#   data/PASCAL_MT/{ImageSets/Context,JPEGImages,semseg,human_parts,
#                   sal_distill,normals_distill,pascal-context/trainval}
# 4998 train / 5105 val images; inputs 512 x 512.
dataset_type = 'PascalContextMTDataset'
data_root = 'data/PASCAL_MT'
pascal_tasks = ('semseg', 'parts', 'sal', 'normals', 'edge')
pascal_task_info = dict(
    semseg=dict(kind='segmentation', num_classes=21),
    parts=dict(kind='segmentation', num_classes=7, loss=dict(loss_weight=2.0)),
    sal=dict(kind='saliency'),
    normals=dict(kind='normals'),
    edge=dict(kind='edge'),
)
crop_size = (512, 512)
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
]  # images of different sizes are padded per batch by the preprocessor
# Normals are valid only on the classes shared with NYUD, as in
# Multi-Task-Learning-PyTorch ('mtl'), so figures compare with the literature.
_dataset = dict(type=dataset_type, data_root=data_root, tasks=pascal_tasks,
                normals_valid_labels='mtl')
train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(_dataset, split='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(_dataset, split='val', test_mode=True,
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='MultiTaskMetric', edge_max_dist=0.0075)
test_evaluator = val_evaluator
