"""Physics options shared by the world and the grasp trials (see docs/sim.md for why).

- timestep 2 ms with the ``implicitfast`` integrator: stable with stiff position servos
  and 70 N finger forces, cheap enough for >= 30 trials/s.
- elliptic friction cones + ``impratio`` 10: contacts resist sliding strongly relative to
  normal forces, so a pinched object does not creep out of the pads (pyramidal cones
  with impratio 1 let a held 0.5 kg box slide out during the shake).
- Newton solver, 50 iterations / 20 line-search iterations (converges in a few).
- contact solref (0.004, 1): critically damped, 4 ms time constant (= 2 timesteps, the
  stiffest MuJoCo allows); solimp (0.95, 0.99, 0.001): stiff near contact so 70 N pinch
  forces sink about half a millimetre. With 10 ms (and still with 8 ms) a Panda closing to
  width 0 at 70 N on a 5 cm cylinder shot it off the table at ~4 m/s during the lift: the
  soft pinch stored enough penetration energy to squeeze the object out of the pads.
- the no-slip post-processor (5 iterations): after the main solve it removes the slip that
  soft friction constraints allow. Without it a 14 cm cylinder pinched 2-3 cm below its
  top (make demo's third object) tipped about the pinch axis and fell out of the pads
  during the lift in 4 of 8 demos (0 of 8 with it, run alternately); it costs ~20 % of
  the simulated trials' rate (benchmarks/sim_trials.py: 88.7 -> 71.1 trials/s).
"""

from __future__ import annotations

import mujoco

TIMESTEP = 0.002
IMPRATIO = 10.0
NOSLIP_ITERATIONS = 5
CONTACT_SOLREF = (0.004, 1.0)
CONTACT_SOLIMP = (0.95, 0.99, 0.001, 0.5, 2.0)
#: Friction of the finger pads (rubber) and the table; objects carry their own.
FINGER_FRICTION = (1.2, 0.01, 0.0001)
TABLE_FRICTION = (0.8, 0.005, 0.0001)


def apply_options(spec: mujoco.MjSpec, timestep: float = TIMESTEP) -> None:
    """Set the solver options of ``spec`` (in place)."""
    opt = spec.option
    opt.timestep = timestep
    opt.integrator = mujoco.mjtIntegrator.mjINT_IMPLICITFAST
    opt.cone = mujoco.mjtCone.mjCONE_ELLIPTIC
    opt.impratio = IMPRATIO
    opt.solver = mujoco.mjtSolver.mjSOL_NEWTON
    opt.iterations = 50
    opt.ls_iterations = 20
    opt.noslip_iterations = NOSLIP_ITERATIONS


def tune_contacts(spec: mujoco.MjSpec) -> None:
    """Give every geom the grasping contact parameters (solref/solimp)."""
    for g in spec.geoms:
        g.solref = list(CONTACT_SOLREF)
        g.solimp = list(CONTACT_SOLIMP)
