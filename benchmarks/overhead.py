"""Per-call cost of ChatQianfan next to a bare pooled requests POST, on the emulator.

Run: python benchmarks/overhead.py  (prints milliseconds per call; not part of the tests).
"""

import asyncio
import json
import time

import requests

from langchain_qianfan_free import ChatQianfan
from langchain_qianfan_free.emulator import QianfanEmulator

N = 300  # calls per measurement
with QianfanEmulator(rpm=10**9, tpm=10**12) as emu:
    s = requests.Session()
    body = json.dumps(
        {"model": "ernie-speed-8k", "messages": [{"role": "user", "content": "你好"}]}
    ).encode()
    hdr = {"Authorization": f"Bearer {emu.api_key}", "Content-Type": "application/json"}
    for _ in range(20):
        s.post(emu.url + "/v2/chat/completions", data=body, headers=hdr).json()
    t = time.perf_counter()
    for _ in range(N):
        s.post(emu.url + "/v2/chat/completions", data=body, headers=hdr).json()
    raw = (time.perf_counter() - t) / N
    llm = ChatQianfan(api_key=emu.api_key, base_url=emu.url)
    for _ in range(20):
        llm.invoke("你好")
    t = time.perf_counter()
    for _ in range(N):
        llm.invoke("你好")
    ours = (time.perf_counter() - t) / N
    t = time.perf_counter()
    for _ in range(N):
        list(llm.stream("你好"))
    st = (time.perf_counter() - t) / N

    async def a():
        for _ in range(20):
            await llm.ainvoke("你好")
        t = time.perf_counter()
        for _ in range(N):
            await llm.ainvoke("你好")
        return (time.perf_counter() - t) / N

    at = asyncio.run(a())
    print(
        f"raw requests {raw * 1e3:.2f} ms | invoke {ours * 1e3:.2f} ms | "
        f"stream {st * 1e3:.2f} ms | ainvoke {at * 1e3:.2f} ms"
    )
