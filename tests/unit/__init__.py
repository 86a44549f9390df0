"""The unit tier: tests of one function or preprocessor at a time (``make test-fast``)."""
