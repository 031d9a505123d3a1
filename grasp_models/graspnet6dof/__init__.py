"""6-DOF GraspNet on the CPU: VAE grasp sampler, grasp evaluator, gradient refinement,
physics-labelled data generation (Mousavian et al., ICCV 2019).

Heavy modules (torch, h5py, the simulator) are imported by the submodules, not here.
"""
