"""langchain-tests' standard integration suite, for both protocols.

The model is ``ernie-speed-8k``, which has no native function calling: the tool,
tool-choice, structured-output and JSON-mode tests run through prompt mode.
"""

from __future__ import annotations

from typing import Any

from langchain_tests.integration_tests import ChatModelIntegrationTests

from langchain_qianfan_free import ChatQianfan

from .conftest import model_params


class _Standard(ChatModelIntegrationTests):
    protocol = "v2"
    iam = False

    @property
    def chat_model_class(self) -> type[ChatQianfan]:
        return ChatQianfan

    @property
    def chat_model_params(self) -> dict[str, Any]:
        params = model_params(self.protocol, iam=self.iam)
        return {"model": "ernie-speed-8k", "max_retries": 3, **params}

    @property
    def model_override_value(self) -> str:
        return "ernie-lite-8k"

    @property
    def returns_usage_metadata(self) -> bool:
        return True

    @property
    def has_tool_calling(self) -> bool:
        return True

    @property
    def has_tool_choice(self) -> bool:
        return True

    @property
    def has_structured_output(self) -> bool:
        return True

    @property
    def supports_json_mode(self) -> bool:
        return True


class TestChatQianfanV2(_Standard):
    protocol = "v2"


class TestChatQianfanV1(_Standard):
    protocol = "v1"


class TestChatQianfanV1SignedWithIamKeys(_Standard):
    """v1, every request signed with bce-auth-v1 from Baidu Cloud IAM keys."""

    protocol = "v1"
    iam = True


class TestChatQianfanV2BearerFromIamKeys(_Standard):
    """v2, with a bearer token minted from Baidu Cloud IAM keys."""

    protocol = "v2"
    iam = True
