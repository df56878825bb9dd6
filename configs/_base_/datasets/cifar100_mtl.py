# CIFAR-100 MTL: 20 five-way classification tasks (one per superclass),
# from the standard pickles in data/cifar-100-python/{train,test,meta}.
dataset_type = 'CIFAR100MTLDataset'
data_root = 'data'
cifar_tasks = tuple(f'cls_{c:02d}' for c in range(20))
# CIFAR-100 channel statistics (RGB)
cifar_data_preprocessor = dict(
    type='MultiTaskDataPreProcessor',
    mean=(129.3, 124.1, 112.4),
    std=(68.2, 65.4, 70.4),
    bgr_to_rgb=True)
# the dataset puts each image's label in `<task>_label` (-1 for the other
# tasks); LoadMultiTaskAnnotations turns it into the packed ground truth
train_pipeline = [
    dict(type='LoadMultiTaskAnnotations'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackMultiTaskInputs'),
]
test_pipeline = [
    dict(type='LoadMultiTaskAnnotations'),
    dict(type='PackMultiTaskInputs'),
]
train_dataloader = dict(
    batch_size=128,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, split='train',
                 tasks=cifar_tasks, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=256,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='val',
                 tasks=cifar_tasks, test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='MultiTaskMetric')
test_evaluator = val_evaluator
