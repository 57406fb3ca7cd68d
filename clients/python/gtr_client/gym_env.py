"""A gymnasium.Env over one gtr serve session (OpenEnv's WebSocket client underneath)."""

from __future__ import annotations

import sys
from typing import Any, Dict, Mapping, Optional, Tuple, Union

import gymnasium as gym
from gymnasium import spaces

from .client import GtrEnvClient

# What a prompt, a text observation, an action token or a household command may contain: any printable character
# of the Basic Multilingual Plane plus newline and tab (gymnasium's default Text charset is alphanumeric only).
_TEXT_CHARSET = frozenset(
    ["\n", "\t"] + [chr(c) for c in range(0x20, 0x10000) if not 0xD800 <= c <= 0xDFFF and chr(c).isprintable()]
)
_BASE64_CHARSET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
MAX_TEXT = 1 << 20

Action = Union[str, Mapping[str, str]]
ObsDict = Dict[str, Any]


def text_space(max_length: int = MAX_TEXT) -> spaces.Text:
    return spaces.Text(max_length=max_length, min_length=0, charset=_TEXT_CHARSET)


class GtrEnv(gym.Env):
    """One gtr serve session as a gymnasium environment.

    Observation (a `spaces.Dict`): `prompt` (GTR's prompt text), `text` (the env's text observation),
    `legal_actions` (action tokens; household: admissible commands) and, when frames are on, `frame` (a base64
    PNG). Everything else the server sends (episode, t, seed, info, action, invalid, session id, ...) is in `info`.

    Action (a `spaces.Text`): an action token (`"10"`, `"+"`) or a household command (`"go to desk 1"`).
    `step` also takes `{"text": raw_model_output}` (GTR parsing and the env's `invalid=` rule on the server) or
    `{"command": ...}`/`{"action": ...}` as sent on the wire.

    `correct(thought)` and `expert()` ask the server about the current state over the same session.
    """

    metadata = {"render_modes": []}

    def __init__(self, base_url: str, env: str = "points24", *, seed: Optional[int] = None,
                 frames: bool = False, token: Optional[str] = None, client: Optional[str] = None,
                 message_timeout_s: float = 60.0, **reset_options: Any) -> None:
        """`reset_options` are the env's reset options (cards, task, game, max_steps, observation, invalid, ...),
        sent with every reset; `reset(options=...)` overrides them for one episode."""
        super().__init__()
        self.base_url = base_url
        self.env_name = env
        self.frames = frames
        self._default_seed = seed
        self._reset_options: Dict[str, Any] = dict(reset_options)
        self._client = GtrEnvClient(base_url=base_url, token=token, client=client,
                                    message_timeout_s=message_timeout_s).sync()
        self._connected = False
        self.last_metadata: Dict[str, Any] = {}
        fields: Dict[str, spaces.Space] = {
            "prompt": text_space(),
            "text": text_space(),
            "legal_actions": spaces.Sequence(text_space(4096)),
        }
        if frames:
            fields["frame"] = spaces.Text(max_length=MAX_TEXT * 8, min_length=0, charset=_BASE64_CHARSET)
        self.observation_space = spaces.Dict(fields)
        self.action_space = text_space(4096)

    # -- gymnasium API -------------------------------------------------------------------------------------------

    def reset(self, *, seed: Optional[int] = None, options: Optional[Dict[str, Any]] = None
              ) -> Tuple[ObsDict, Dict[str, Any]]:
        super().reset(seed=seed)
        data: Dict[str, Any] = {"env": self.env_name, "frames": self.frames, **self._reset_options, **(options or {})}
        if seed is None and self._default_seed is not None and not self._connected:
            seed = self._default_seed
        if seed is not None:
            data["seed"] = int(seed)
        self._ensure_connected()
        result = self._client.reset(**data)
        obs, info = self._split(result.observation, getattr(result, "metadata", {}))
        return obs, info

    def step(self, action: Action) -> Tuple[ObsDict, float, bool, bool, Dict[str, Any]]:
        if isinstance(action, str):
            payload: Dict[str, Any] = {"action": action}
        elif isinstance(action, Mapping):
            payload = dict(action)
        else:
            raise TypeError(f"action must be a str or a mapping, not {type(action).__name__}")
        result = self._client.step(payload)
        raw = result.observation
        obs, info = self._split(raw, getattr(result, "metadata", {}))
        reward = float(result.reward or 0.0)
        terminated = bool(raw.get("terminated", result.done))
        truncated = bool(raw.get("truncated", False))
        if result.done and not (terminated or truncated):
            terminated = True
        return obs, reward, terminated, truncated, info

    def close(self) -> None:
        if self._connected:
            try:
                self._client.close()
            finally:
                self._connected = False
        super().close()

    # -- gtr's extra messages ------------------------------------------------------------------------------------

    def correct(self, thought: str) -> Dict[str, Any]:
        """The server's corrector on the current state: verdict, answers, target formula, corrected thought."""
        self._ensure_connected()
        return self._client.correct(thought)

    def expert(self) -> Dict[str, Any]:
        """The expert's next action (`action`), its JSON thought (`thought`) and output text (`output`)."""
        self._ensure_connected()
        return self._client.expert()

    def state(self) -> Dict[str, Any]:
        self._ensure_connected()
        return self._client.state()

    # -- helpers -------------------------------------------------------------------------------------------------

    def _ensure_connected(self) -> None:
        if not self._connected:
            self._client.connect()
            self._connected = True

    def _split(self, raw: Dict[str, Any], metadata: Dict[str, Any]) -> Tuple[ObsDict, Dict[str, Any]]:
        obs: ObsDict = {
            "prompt": raw.get("prompt") or "",
            "text": raw.get("text") or "",
            "legal_actions": tuple(raw.get("legal_actions") or ()),
        }
        if self.frames:
            obs["frame"] = raw.get("frame") or ""
        info = {k: v for k, v in raw.items() if k not in obs}
        info["metadata"] = metadata
        self.last_metadata = metadata
        return obs, info

    def __del__(self) -> None:  # best effort, like OpenEnv's SyncEnvClient
        if getattr(self, "_connected", False) and not sys.is_finalizing():
            try:
                self.close()
            except Exception:
                pass
