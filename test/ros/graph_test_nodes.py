"""Two tiny nodes for the launcher tests: a talker with parameters and a listener."""

from __future__ import annotations

from rclpy.node import Node
from std_msgs.msg import String

from grasp_bringup.node_utils import ParamSpec, declare_params, run_node
from grasp_bringup.qos import RELIABLE_QOS


class Talker(Node):
    def __init__(self, **kwargs) -> None:
        super().__init__("talker", **kwargs)
        self.params = declare_params(
            self,
            [
                ParamSpec("text", "hello", "what to say"),
                ParamSpec("rate", 20.0, "publish rate [Hz]", (1.0, 100.0)),
            ],
        )
        self.pub = self.create_publisher(String, "/chatter", RELIABLE_QOS)
        self.create_timer(1.0 / self.params["rate"], self.tick)

    def tick(self) -> None:
        self.pub.publish(String(data=self.params["text"]))


class Listener(Node):
    def __init__(self, **kwargs) -> None:
        super().__init__("listener", **kwargs)
        self.heard: list[str] = []
        self.create_subscription(
            String, "/chatter", lambda m: self.heard.append(m.data), RELIABLE_QOS
        )


def main(args=None) -> None:
    run_node(Talker, args)
