"""Camera sources, depth cleanup, back-projection, table plane and object clustering.

Public API (stable; see docs/perception.md). Submodules are imported on demand, so
``import grasp_perception`` stays light (open3d is only loaded by cloud/segmentation):

- :mod:`grasp_perception.sources` — ``CameraSource`` (ABC: ``read(timeout) -> RGBDFrame |
  None``, iteration, ``close()``, context manager, ``exhausted``), ``RealSenseSource``
  (pyrealsense2, imported lazily), ``McapRecorder(path, depth_encoding="16UC1")`` /
  ``McapSource(path, realtime=True)`` (rosbag2-compatible MCAP on the realsense topic
  names), topic constants ``COLOR_TOPIC``, ``DEPTH_TOPIC``, ``INFO_TOPIC``. The ROS-topic
  source is ``grasp_bringup.ros_camera.RosCameraSource`` (it needs rclpy).
- :mod:`grasp_perception.depth` — ``fill_holes(depth) -> depth`` (inpainting, metres
  kept), ``edge_preserving_filter(depth, ...)``, ``clean_depth(depth, fill, edge_filter)``.
- :mod:`grasp_perception.cloud` — ``organized_cloud(depth, camera, frame)`` (HxWx3),
  ``depth_to_cloud(depth, camera, frame, stride, ...) -> (Nx3, pixel indices)``,
  ``crop_box`` / ``crop_mask``, ``voxel_downsample(points, size) -> (centroids, inverse)``,
  ``voxel_downsample_o3d``, ``to_o3d``.
- :mod:`grasp_perception.params` — ``PerceptionParams`` (frozen; ``from_dict``,
  ``from_yaml``; the same names as the node's ROS parameters), ``PARAM_INFO``.
- :mod:`grasp_perception.segmentation` — ``segment(frame, params) -> SceneSegmentation``
  (``table_plane`` (a,b,c,d) or None, ``table_height``, ``objects: tuple[ObjectCluster]``
  (label, points, pixel_indices, centroid, bbox_min/max, ``mask()``), ``scene_points``,
  ``clean_depth``, ``warnings``, ``object_points()``, ``label_image()``);
  ``PerceptionParams`` is re-exported there.
- :mod:`grasp_perception.scene` — ``collision_scene(seg) -> CollisionScene`` (frozen:
  ``objects: tuple[CollisionObject(name, vertices, faces)]`` (a tuple, not a list, so the
  value stays immutable), ``table_plane``, ``table_height``, ``table_min``/``table_max``,
  ``skipped``), ``collision_scene_from_cloud(points, labels, table_height)`` (from
  ``/perception/object_points``), ``convex_hull(points)``.
- :mod:`grasp_perception.synthetic` — ray-cast table + boxes scenes with ground truth.
- :mod:`grasp_perception.errors` — ``PerceptionError`` and subclasses.
- :mod:`grasp_perception.node` — ``PerceptionNode`` (console script ``perception``).

All clouds and planes are in the camera's base frame (``CameraModel.base_frame``) [m].
"""

from grasp_perception.errors import (
    DeviceNotFoundError,
    ParamsError,
    PerceptionError,
    RecordingError,
    SourceError,
)

__all__ = [
    "DeviceNotFoundError",
    "ParamsError",
    "PerceptionError",
    "RecordingError",
    "SourceError",
]
