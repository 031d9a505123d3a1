"""ROS glue shared by the nodes: message codecs, QoS, the node graph, launcher and CLI."""
