enum _StubSQLParser {}
