"""Tests of npnet.data and npnet.images (a package, so its module names cannot clash with tests elsewhere)."""
