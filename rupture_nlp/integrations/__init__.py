"""Bridges to outside frameworks, each behind its own optional extra (`pip install 'rupture-nlp[ray]'`).

Nothing here is imported by the core package, so a user without the extra never pays for it.
"""
