"""LangChain chat model for Baidu Qianfan's free ERNIE models."""
