/// The session settings every connection of a copy starts with, on the source and on the targets.
///
/// They pin everything that changes a value's text (dates, intervals, floats, bytea, encoding), so rows travel as
/// COPY text and arrive equal; lift the timeouts that would cut a long copy; and turn row security off, so a
/// role under a row-level security policy gets an error instead of a silently partial copy.
public enum SessionSettings {
  public static let sql = """
    SET statement_timeout = 0;
    SET lock_timeout = 0;
    SET idle_in_transaction_session_timeout = 0;
    SET row_security = off;
    SET client_encoding = 'UTF8';
    SET DateStyle = 'ISO, YMD';
    SET IntervalStyle = 'postgres';
    SET TimeZone = 'UTC';
    SET extra_float_digits = 3;
    SET bytea_output = 'hex';
    SET standard_conforming_strings = on;
    SET synchronous_commit = off;
    """
  /// `synchronous_commit` is harmless on a read-only source; on a target it is also safe because a copy that
  /// crashes is resumed from what the target says is committed.
}
