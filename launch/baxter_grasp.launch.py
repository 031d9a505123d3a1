"""Baxter grasping: camera, perception, grasp detector and executor.

    ros2 launch grasp_bringup baxter_grasp.launch.py model:=graspnet6dof camera:=realsense

The nodes and their parameters come from config/graphs/baxter_grasp.yaml.
"""

from grasp_bringup.launch_description import generate


def generate_launch_description():
    return generate("baxter_grasp")
