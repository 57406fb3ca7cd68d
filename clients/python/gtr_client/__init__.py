"""Python client for `gtr serve` (OpenEnv-compatible WebSocket environment server).

    from gtr_client import GtrEnv
    env = GtrEnv("http://127.0.0.1:8000", env="points24")
    obs, info = env.reset(seed=3)
    obs, reward, terminated, truncated, info = env.step("10")
    env.expert()                         # {"action": ..., "thought": {...}, "output": "..."}
"""

from .client import GtrEnvClient
from .gym_env import GtrEnv

__all__ = ["GtrEnv", "GtrEnvClient"]
__version__ = "0.1.0"
