"""A RAG chain: retriever over an in-memory vector store → prompt → ChatQianfan → parser.

The embedding is a small deterministic character n-gram hash, so the test needs no
model download and retrieval is repeatable. The RAG example in ``docs/tools.md`` is
this file's ``build_chain``.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnablePassthrough
from langchain_core.vectorstores import InMemoryVectorStore

from langchain_qianfan_free import ChatQianfan

from .conftest import emulator, live, model_params


# --- example: start (docs/tools.md)
class NgramEmbeddings(Embeddings):
    """Deterministic local embeddings: hashed character 1- and 2-grams."""

    def __init__(self, size: int = 256) -> None:
        self.size = size

    def _embed(self, text: str) -> list[float]:
        vector = [0.0] * self.size
        grams = list(text) + [text[i : i + 2] for i in range(len(text) - 1)]
        for gram in grams:
            digest = hashlib.md5(gram.encode(), usedforsecurity=False).digest()
            vector[int.from_bytes(digest[:4], "big") % self.size] += 1.0
        norm = math.sqrt(sum(v * v for v in vector)) or 1.0
        return [v / norm for v in vector]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._embed(text) for text in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._embed(text)


DOCS = [
    "千帆平台的 ERNIE-Speed-8K 模型可以免费调用。",
    "熊猫主要以竹子为食，生活在中国四川等地。",
    "LangChain 的检索器返回与问题最相关的文档。",
]

PROMPT = ChatPromptTemplate.from_messages(
    [
        ("system", "只根据下面的资料回答问题。\n资料：\n{context}"),
        ("human", "{question}"),
    ]
)


def build_chain(**settings: Any) -> Any:
    """retriever → prompt → ChatQianfan → text."""
    store = InMemoryVectorStore.from_texts(DOCS, NgramEmbeddings())
    retriever = store.as_retriever(search_kwargs={"k": 1})

    def join(docs: list[Document]) -> str:
        return "\n".join(doc.page_content for doc in docs)

    llm = ChatQianfan(model="ernie-speed-8k", **settings)
    return (
        {"context": retriever | join, "question": RunnablePassthrough()}
        | PROMPT
        | llm
        | StrOutputParser()
    )


# --- example: end


@pytest.mark.parametrize("protocol", ["v2", "v1"])
def test_rag_chain_answers_from_the_retrieved_document(protocol: str) -> None:
    chain = build_chain(**model_params(protocol))
    question = "熊猫吃什么？"
    answer = chain.invoke(question)
    assert isinstance(answer, str)
    assert answer
    if not live(protocol):
        body = [r for r in emulator().requests if r.protocol == protocol][-1].json
        sent = str(body)
        assert "熊猫主要以竹子为食" in sent  # the right document was retrieved
        assert "ERNIE-Speed-8K 模型可以免费调用" not in sent
        assert question in answer  # the emulator echoes the question


def test_rag_chain_streams() -> None:
    chain = build_chain(**model_params("v2"))
    pieces = list(chain.stream("千帆哪个模型可以免费调用？"))
    assert len(pieces) > 1
    assert "".join(pieces)
