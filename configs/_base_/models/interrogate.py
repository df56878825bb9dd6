# InterroGate (arXiv 2402.16848): the gate warm-up and the gate learning
# rate, shared by every InterroGate config. Our choices (the paper gives
# neither): soft gates sigmoid(alpha) for the first `gate_warmup_iters`
# iterations, straight-through hard gates after them; the gate logits learn
# `gate_lr_mult` times faster than the weights, without weight decay.
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
