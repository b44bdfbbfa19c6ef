"""MIC Corpus: multilingual, openly licensed, instance-annotated image corpora."""

__version__ = "0.1.0"
