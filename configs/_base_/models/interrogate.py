# InterroGate (arXiv 2402.16848): the settings shared by every InterroGate
# config. Our choices (the paper gives none of them):
# - a gated unit per residual block (and the stem), gates starting at
#   sigmoid(alpha) = 0.9, i.e. close to the task branches;
# - the budget as a hinge on the differentiable MACs estimate of the pruned
#   model, lambda_s = 100, holding it in [0.95, 1] x budget (a config adds
#   `budget` and `input_shape`);
# - soft gates for the first `gate_warmup_iters` iterations, straight-through
#   hard gates after them;
# - gate logits learning `gate_lr_mult` times faster than the weights,
#   without weight decay.
# A config writes
#   model = dict(gated_model, backbone=..., tasks=...,
#                sparsity=dict(macs_budget, budget='200M', input_shape=...),
#                task_checkpoints=..., shared_checkpoint=...)
gated_model = dict(type='GatedMultiTaskNet', units='units', gate_init=0.9)
macs_budget = dict(type='SparsityRegularizer', mode='macs', loss_weight=100.0,
                   lower_margin=0.05)
gate_warmup_iters = 100
gate_lr_mult = 50.0
gate_hooks = [
    dict(type='ScheduledValueHook', name='hard_gates', value=1.0,
         schedule='constant', warmup_iters=gate_warmup_iters,
         warmup_value=0.0),
]
gate_paramwise_cfg = dict(custom_keys={
    'gate_logits': dict(lr_mult=gate_lr_mult, decay_mult=0.0),
    'share_logits': dict(decay_mult=0.0),
})
