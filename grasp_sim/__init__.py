"""MuJoCo world (robot, table, objects, cameras), object library and physics grasp trials."""
