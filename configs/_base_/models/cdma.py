# CDMA ("Controllable Dynamic Multi-Task Architectures", Raychaudhuri et al.,
# CVPR 2022): the training algorithm and its controllers, as the paper
# gives them. A config adds its anchor net and data preprocessor:
#   model = dict(cdma_model, architecture=dict(
#       cdma_model['architecture'], anchor=anchor,
#       data_preprocessor=data_preprocessor))
cdma_model = dict(
    type='CDMAAlgorithm',
    stage=1,
    architecture=dict(
        type='CDMANet',
        edge_hypernet=dict(type='EdgeHypernet', embed_dim=32,
                           hidden=(100, 100), identity_bias=1.0),
        weight_hypernet=dict(type='WeightHypernet', embed_dim=32,
                             hidden=(100, 100, 100)),
        # the request validated during training (None: uniform preference)
        default_request=dict(preference=None, cost=0.5)),
    # tau = 0.6 / N; lambda_A = 1, lambda_I = 0.1 (the paper)
    regularizer=dict(type='BranchingRegularizer', lambda_active=1.0,
                     lambda_inactive=0.1),
    dirichlet_alpha=0.2)
# (preference, budget) -> the tree of the largest MACs within the budget
# over 101 values of c
deploy = dict(type='CDMADeployer', cost_grid=101)
