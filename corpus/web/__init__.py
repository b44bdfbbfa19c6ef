"""`corpus review serve`: a review web app over the store.

The app is a thin layer: pages and JSON endpoints that call the same library functions as the
command line (:mod:`corpus.review`), so every decision lands in the append-only review log. Its
read side (the queue, progress, class names in the reviewer's language) lives in modules with no
web dependency (:mod:`corpus.web.queue`, :mod:`corpus.web.names`); the web stack (FastAPI,
Uvicorn, Jinja2, Babel) is the optional extra ``web``.
"""
