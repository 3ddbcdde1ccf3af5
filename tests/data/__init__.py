"""Tests of npnet.data and npnet.data.images (a package, so its module names cannot clash with tests elsewhere)."""
