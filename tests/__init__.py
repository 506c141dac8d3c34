"""cintel test suite (a package, so worker processes can import test analyzers)."""
