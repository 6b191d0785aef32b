enum _StubCleaveCLI {}
