"""How many CPU threads inference uses.

Matrix kernels gain nothing from hyper-threads (two threads on one core share its vector
units and just fight for cache), and in a container or under `taskset` the process may see
fewer cores than the host has, while torch counts the host's. So inference uses one thread
a *physical core this process may run on* — unless the caller has chosen: an explicit
`RUPTURE_THREADS`, `OMP_NUM_THREADS` or `MKL_NUM_THREADS`, or a `torch.set_num_threads`
to fewer threads than that, is left alone.
"""

from __future__ import annotations

import os
from pathlib import Path

THREAD_ENV = ("RUPTURE_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def physical_cores(sysfs: Path = Path("/sys/devices/system/cpu")) -> int:
    """Distinct physical cores among the CPUs this process may run on (at least 1)."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return max(1, (os.cpu_count() or 2) // 2)
    cores = set()
    for cpu in cpus:
        topology = sysfs / f"cpu{cpu}" / "topology"
        try:
            cores.add(((topology / "physical_package_id").read_text().strip(), (topology / "core_id").read_text().strip()))
        except OSError:
            cores.add(("cpu", str(cpu)))  # no topology (some VMs): count the CPU itself
    return max(1, len(cores))


def configure_threads() -> int:
    """Set torch's intra-op threads for inference as the module doc says; returns the count in use."""
    import torch

    explicit = os.environ.get("RUPTURE_THREADS", "").strip()
    if explicit.isdigit() and int(explicit) > 0:
        torch.set_num_threads(int(explicit))
    elif not any(os.environ.get(name) for name in THREAD_ENV):
        cores = physical_cores()
        if torch.get_num_threads() > cores:
            torch.set_num_threads(cores)
    return torch.get_num_threads()
