"""langchain-tests' standard unit suite for ChatQianfan (no network)."""

from __future__ import annotations

import pytest
from langchain_tests.unit_tests import ChatModelUnitTests

from langchain_qianfan_free import ChatQianfan


class TestChatQianfanStandard(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[ChatQianfan]:
        return ChatQianfan

    @property
    def chat_model_params(self) -> dict:
        return {"model": "ernie-speed-8k", "api_key": "test-key"}

    @property
    def init_from_env_params(self) -> tuple[dict, dict, dict]:
        return (
            {
                "QIANFAN_API_KEY": "bce-v3/ALTAK-env/secret",
                "QIANFAN_APP_ID": "app-env",
                "QIANFAN_AK": "env-ak",
                "QIANFAN_SK": "env-sk",
                "QIANFAN_BASE_URL": "http://127.0.0.1:9/v2",
            },
            {"model": "ernie-lite-8k"},
            {
                "api_key": "bce-v3/ALTAK-env/secret",
                "app_id": "app-env",
                "qianfan_ak": "env-ak",
                "qianfan_sk": "env-sk",
                "base_url": "http://127.0.0.1:9",
            },
        )

    @pytest.mark.xfail(
        strict=True,
        reason=(
            "langchain-core's load(allowed_objects='all') only admits classes listed in "
            "its own serialization mapping, which no out-of-tree package is in; "
            "test_chat_models.py round-trips ChatQianfan with allowed_objects=[ChatQianfan]."
        ),
    )
    def test_serdes(self, model, snapshot) -> None:  # type: ignore[no-untyped-def]
        super().test_serdes(model, snapshot)
