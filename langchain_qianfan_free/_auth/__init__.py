"""Credentials: which scheme a call uses, the schemes, the signer and the token cache.

Pure except for the token fetch, which sends through the function a transport hands it.
"""
