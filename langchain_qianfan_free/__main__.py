"""``python -m langchain_qianfan_free``: the ``qianfan-chat`` CLI."""

from langchain_qianfan_free.cli import main

raise SystemExit(main())
