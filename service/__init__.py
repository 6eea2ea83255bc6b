"""Portrait: an interoperability service for K-12 Portrait-of-a-Graduate credentials."""

__version__ = "0.1.0"
