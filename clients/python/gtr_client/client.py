"""OpenEnv client for gtr serve.

`GtrEnvClient` is OpenEnv's stock `GenericEnvClient`: reset, step, state and close go through it unchanged. It only
adds what gtr speaks on top of the OpenEnv protocol, over the same WebSocket (so the same session):

* `correct(thought)` sends `{"type": "correct", "data": {"thought": ...}}` and returns the correction dict;
* `expert()` sends `{"type": "expert"}` and returns `{"action", "thought", "output"}`;
* `token=` / `client=` end up in the WebSocket URL's query (`?token=T&client=NAME`), which gtr serve accepts
  (OpenEnv's `connect` takes no extra headers);
* each `StepResult` keeps the server's `metadata` (`session_id`, `episode`, `t`, `seed`, `options`) as an attribute.

Both extra messages ride on `EnvClient._send_and_receive`, so errors surface exactly as OpenEnv reports them:
`RuntimeError("Server error: ... (code: ...)")`. Like every coroutine method of an `EnvClient`, they are also
available synchronously on `GtrEnvClient(...).sync()` (OpenEnv's `SyncEnvClient` wraps them).
"""

from __future__ import annotations

from typing import Any, Dict, Optional
from urllib.parse import urlencode

from openenv.core import GenericEnvClient
from openenv.core.client_types import StepResult


class GtrEnvClient(GenericEnvClient):
    """OpenEnv's generic (dict) client plus gtr's `correct` and `expert` messages."""

    def __init__(self, base_url: str, *, token: Optional[str] = None, client: Optional[str] = None,
                 **kwargs: Any) -> None:
        super().__init__(base_url=base_url, **kwargs)
        query = {k: v for k, v in (("token", token), ("client", client)) if v}
        if query:
            # The base class builds f"{ws_base}/ws" and connects to exactly that string.
            self._ws_url = f"{self._ws_url}?{urlencode(query)}"

    def _parse_result(self, payload: Dict[str, Any]) -> StepResult[Dict[str, Any]]:
        result = super()._parse_result(payload)
        result.metadata = payload.get("metadata") or {}  # type: ignore[attr-defined]
        return result

    async def correct(self, thought: str) -> Dict[str, Any]:
        """The server's corrector verdict on the current state for `thought` (raw model output or JSON text)."""
        response = await self._send_and_receive({"type": "correct", "data": {"thought": thought}})
        return response.get("data", {})

    async def expert(self) -> Dict[str, Any]:
        """The expert's next action, its JSON thought and the output text an agent would emit."""
        response = await self._send_and_receive({"type": "expert"})
        return response.get("data", {})
