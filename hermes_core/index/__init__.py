"""FAISS indexes shared by the stages that search vectors (encode now, retrieve next)."""
