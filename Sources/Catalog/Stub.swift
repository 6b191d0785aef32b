enum _StubCatalog {}
