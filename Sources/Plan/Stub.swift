enum _StubPlan {}
