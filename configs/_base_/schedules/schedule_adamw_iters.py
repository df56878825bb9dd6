# Iteration-based AdamW schedule with polynomial decay. Concrete configs set
# max_iters / val_interval / checkpoint interval via `train_cfg.update(...)`.
max_iters = 500
optimizer = dict(type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=1e-4)
optim_wrapper = dict(
    type='OptimWrapper', optimizer=optimizer, clip_grad=dict(max_norm=10.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(
        type='PolyLR',
        eta_min=1e-5,
        power=0.9,
        begin=50,
        end=max_iters,
        by_epoch=False),
]
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, interval=250,
        max_keep_ckpts=2, save_last=True),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='MultiTaskVisualizationHook'),
)
