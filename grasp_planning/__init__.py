"""Robot models, IK, collision scene, motion planning and the pick-and-place executor."""
