enum _StubReport {}
