"""qa: question answering over a Chinese newspaper archive, with citations."""

__version__ = "0.1.0"
