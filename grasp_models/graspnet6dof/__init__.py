"""6-DOF GraspNet on the CPU: VAE grasp sampler, grasp evaluator, gradient refinement,
physics-labelled data generation (Mousavian et al., ICCV 2019).

Heavy modules (torch, h5py, the simulator) are imported by the submodules, not here.
"""

#: The sampler's and the evaluator's weights file in a weights folder (cards beside them).
SAMPLER_FILE = "graspnet6dof_vae.pt"
EVALUATOR_FILE = "graspnet6dof_evaluator.pt"
