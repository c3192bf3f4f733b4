"""A package whose only import is langchain-core's BaseChatModel (the import-time floor).

Any provider imports BaseChatModel from inside its own module, and that nested import
costs more than the same statement typed at the top of a script; timing this module
shows how much (docs/performance.md, "Import time").
"""

from langchain_core.language_models import BaseChatModel

__all__ = ["BaseChatModel"]
