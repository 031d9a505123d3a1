"""Franka Panda grasping: camera, perception, grasp detector and executor.

    ros2 launch grasp_bringup panda_grasp.launch.py model:=ggcnn camera:=realsense rviz:=true

The nodes and their parameters come from config/graphs/panda_grasp.yaml, the same file the
in-process launcher (`grasp launch panda_grasp`) reads.
"""

from grasp_bringup.launch_description import generate


def generate_launch_description():
    return generate("panda_grasp")
