// The driver matrix for pgJDBC (Debian's libpostgresql-jdbc-java), default settings.
//
//   javac -cp /usr/share/java/postgresql.jar -d OUT JdbcMatrix.java
//   java -cp OUT:/usr/share/java/postgresql.jar JdbcMatrix [CASE...]
//
// Connects with the PG* environment (PGHOST, PGPORT, PGUSER, PGPASSWORD,
// PGDATABASE), runs every case (or the named ones) and prints one line per case,
// `CASE <name> PASS|FAIL|SKIP <detail>`. Exits 0 only when none failed. The URL
// carries no options: prepareThreshold stays 5, so a PreparedStatement switches
// to a named server-side statement (S_1, S_2...) on its fifth execution.
import java.math.BigDecimal;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.sql.Array;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLWarning;
import java.sql.Statement;
import java.sql.Types;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.postgresql.PGConnection;
import org.postgresql.copy.CopyManager;
import org.postgresql.util.PGInterval;
import org.postgresql.util.PSQLException;
import org.postgresql.util.PSQLWarning;

public final class JdbcMatrix {
  static final int CASE_TIMEOUT_S = 30;
  // More runs than prepareThreshold (5); even, so that the last run is in a transaction.
  static final int REUSE_CLIENTS = 4, REUSE_RUNS = 12;
  static final int SAME_NAME_CLIENTS = 20, SAME_NAME_RUNS = 8;
  static final int MANY_CONNECTIONS = 40;
  static final String PREFIX = "drv_jdbc_" + ProcessHandle.current().pid();

  static final class CaseFailed extends Exception {
    private static final long serialVersionUID = 1L;
    CaseFailed(String what) { super(what); }
  }

  static void check(boolean cond, String what) throws CaseFailed {
    if (!cond) throw new CaseFailed(what);
  }

  static String env(String name, String fallback) {
    String v = System.getenv(name);
    return v == null || v.isEmpty() ? fallback : v;
  }

  static Connection connect() throws SQLException {
    String url = "jdbc:postgresql://" + env("PGHOST", "127.0.0.1") + ":" + env("PGPORT", "5432") + "/"
        + env("PGDATABASE", env("PGUSER", "postgres"));
    return DriverManager.getConnection(url, env("PGUSER", "postgres"), env("PGPASSWORD", ""));
  }

  static String sqlstate(Throwable e) {
    return e instanceof SQLException s ? s.getSQLState() : null;
  }

  static String describe(Throwable e) {
    String state = sqlstate(e);
    StringBuilder s = new StringBuilder(e.getClass().getSimpleName() + (state != null ? " " + state : "") + ": " + e.getMessage());
    for (Throwable c = e.getCause(); c != null && c != e; e = c, c = c.getCause())
      s.append(" (caused by ").append(c.getClass().getSimpleName()).append(": ").append(c.getMessage()).append(")");
    return s.toString();
  }

  // The JVM loads pgJDBC's classes (SCRAM among them) during the first login,
  // which on a busy machine can outlast a server's authentication_timeout (2 s
  // on the test cluster). One login before the cases, retried, takes that
  // cost; the cases then connect as any warm application would.
  static void warmUp() throws InterruptedException {
    for (int attempt = 1; attempt <= 3; attempt++) {
      try {
        connect().close();
        return;
      } catch (SQLException e) {
        System.err.println("warm-up login " + attempt + " failed: " + describe(e));
        Thread.sleep(500);
      }
    }
  }

  // Expects `body` to fail with `state`.
  interface SqlBody { void run() throws Exception; }
  static void expectState(String state, String what, SqlBody body) throws Exception {
    try {
      body.run();
    } catch (SQLException e) {
      if (state.equals(e.getSQLState())) return;
      throw e;
    }
    throw new CaseFailed(what + " did not fail with " + state);
  }

  interface ClientBody { void run(int i, Connection c) throws Exception; }

  // Runs body on n connections at once (all connected before any runs); returns the errors.
  static List<String> runClients(int n, ClientBody body) throws InterruptedException {
    List<String> errors = new CopyOnWriteArrayList<>();
    CyclicBarrier barrier = new CyclicBarrier(n);
    ExecutorService pool = Executors.newFixedThreadPool(n);
    for (int i = 0; i < n; i++) {
      final int id = i;
      pool.submit(() -> {
        try (Connection c = connect()) {
          barrier.await(CASE_TIMEOUT_S, TimeUnit.SECONDS);
          body.run(id, c);
        } catch (Exception e) {
          barrier.reset();
          errors.add("client " + id + ": " + describe(e));
        }
      });
    }
    pool.shutdown();
    if (!pool.awaitTermination(CASE_TIMEOUT_S, TimeUnit.SECONDS)) errors.add("a client did not finish in time");
    return errors;
  }

  static void summarize(List<String> errors, int n) throws CaseFailed {
    check(errors.isEmpty(), errors.size() + " of " + n + " clients failed; first: "
        + (errors.isEmpty() ? "" : errors.get(0)));
  }

  interface TableBody { String run(Connection c, String table) throws Exception; }

  static String withTable(String name, String ddl, TableBody body) throws Exception {
    String table = PREFIX + "_" + name;
    try (Connection c = connect()) {
      try (Statement s = c.createStatement()) {
        s.execute("CREATE TABLE " + table + " (" + ddl + ")");
      }
      try {
        return body.run(c, table);
      } finally {
        if (!c.getAutoCommit()) c.rollback();
        c.setAutoCommit(true);
        try (Statement s = c.createStatement()) {
          s.execute("DROP TABLE IF EXISTS " + table);
        }
      }
    }
  }

  static long scalarLong(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  // ---------------------------------------------------------------- cases

  static String caseTypes() throws Exception {
    try (Connection c = connect();
         PreparedStatement ps = c.prepareStatement(
             "SELECT ?::int2, ?::int4, ?::int8, ?::float8, ?::numeric, ?::text, ?::bool, ?::bytea, ?::date,"
             + " ?::timestamptz, ?::interval, ?::uuid, ?::jsonb, ?::int4[], ?::text[], ?::text")) {
      byte[] bytes = new byte[256];
      for (int i = 0; i < 256; i++) bytes[i] = (byte) i;
      BigDecimal numeric = new BigDecimal("12345678901234567890.123456789");
      String text = "héllo ✓ 日本 'quoted' \\ back";
      OffsetDateTime ts = OffsetDateTime.of(2024, 2, 29, 12, 34, 56, 789_000_000, ZoneOffset.UTC);
      UUID uuid = UUID.fromString("12345678-1234-5678-1234-567812345678");
      PGInterval interval = new PGInterval(0, 0, 3, 2, 0, 0);
      ps.setShort(1, (short) 12345);
      ps.setInt(2, -2_000_000_000);
      ps.setLong(3, 9_000_000_000_000_000_000L);
      ps.setDouble(4, 3.25);
      ps.setBigDecimal(5, numeric);
      ps.setString(6, text);
      ps.setBoolean(7, true);
      ps.setBytes(8, bytes);
      ps.setObject(9, LocalDate.of(2024, 2, 29));
      ps.setObject(10, ts);
      ps.setObject(11, interval);
      ps.setObject(12, uuid);
      ps.setString(13, "{\"a\": [1, 2, {\"b\": null}], \"c\": \"d\"}");
      ps.setArray(14, c.createArrayOf("int4", new Integer[] {1, 2, 3, null}));
      ps.setArray(15, c.createArrayOf("text", new String[] {"a", "b,c", "d\"e", ""}));
      ps.setNull(16, Types.VARCHAR);
      try (ResultSet rs = ps.executeQuery()) {
        check(rs.next(), "no row");
        check(rs.getShort(1) == 12345, "int2 " + rs.getShort(1));
        check(rs.getInt(2) == -2_000_000_000, "int4 " + rs.getInt(2));
        check(rs.getLong(3) == 9_000_000_000_000_000_000L, "int8 " + rs.getLong(3));
        check(rs.getDouble(4) == 3.25, "float8 " + rs.getDouble(4));
        check(rs.getBigDecimal(5).equals(numeric), "numeric " + rs.getBigDecimal(5));
        check(rs.getString(6).equals(text), "text " + rs.getString(6));
        check(rs.getBoolean(7), "bool");
        check(Arrays.equals(rs.getBytes(8), bytes), "bytea");
        check(rs.getObject(9, LocalDate.class).equals(LocalDate.of(2024, 2, 29)), "date " + rs.getString(9));
        check(rs.getObject(10, OffsetDateTime.class).isEqual(ts), "timestamptz " + rs.getString(10));
        check(rs.getObject(11).equals(interval), "interval " + rs.getString(11));
        check(rs.getObject(12).equals(uuid), "uuid " + rs.getString(12));
        check(rs.getString(13).equals("{\"a\": [1, 2, {\"b\": null}], \"c\": \"d\"}"), "jsonb " + rs.getString(13));
        check(Arrays.equals((Integer[]) rs.getArray(14).getArray(), new Integer[] {1, 2, 3, null}),
            "int4[] " + rs.getString(14));
        check(Arrays.equals((String[]) rs.getArray(15).getArray(), new String[] {"a", "b,c", "d\"e", ""}),
            "text[] " + rs.getString(15));
        check(rs.getString(16) == null && rs.wasNull(), "null");
      }
    }
    return "16 types round-tripped";
  }

  static String caseReuse() throws Exception {
    List<Long> prepared = new CopyOnWriteArrayList<>();
    summarize(runClients(REUSE_CLIENTS, (i, c) -> {
      // One PreparedStatement; odd runs in an explicit transaction, even runs
      // in autocommit: the server-side statement is used in and out of transactions.
      try (PreparedStatement ps = c.prepareStatement("SELECT ?::int4 + ?::int4, ?::text /* matrix-reuse */")) {
        for (int n = 0; n < REUSE_RUNS; n++) {
          boolean inTransaction = n % 2 == 1;
          if (inTransaction) c.setAutoCommit(false);
          ps.setInt(1, 1000 + n);
          ps.setInt(2, i);
          ps.setString(3, "r" + n);
          try (ResultSet rs = ps.executeQuery()) {
            rs.next();
            if (rs.getInt(1) != 1000 + n + i || !rs.getString(2).equals("r" + n))
              throw new CaseFailed("run " + n + ": got " + rs.getInt(1) + ", " + rs.getString(2));
          }
          if (inTransaction) {
            if (n == REUSE_RUNS - 1)  // in the transaction: the same server connection
              prepared.add(scalarLong(c, "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%matrix-reuse%'"));
            c.commit();
            c.setAutoCommit(true);
          }
        }
      }
    }), REUSE_CLIENTS);
    check(prepared.size() == REUSE_CLIENTS && prepared.stream().allMatch(p -> p > 0),
        "not prepared on the server: " + prepared);
    return REUSE_CLIENTS + " clients x " + REUSE_RUNS + " runs, prepared server-side";
  }

  static String caseSameNameManyClients() throws Exception {
    // Every connection names its first server-side statement S_1.
    summarize(runClients(SAME_NAME_CLIENTS, (i, c) -> {
      try (PreparedStatement ps = c.prepareStatement("SELECT ?::int4 * 2, ?::text /* matrix-same-name */")) {
        for (int n = 0; n < SAME_NAME_RUNS; n++) {
          ps.setInt(1, n);
          ps.setString(2, "c" + i);
          try (ResultSet rs = ps.executeQuery()) {
            rs.next();
            if (rs.getInt(1) != n * 2 || !rs.getString(2).equals("c" + i))
              throw new CaseFailed("run " + n + ": got " + rs.getInt(1) + ", " + rs.getString(2));
          }
        }
      }
    }), SAME_NAME_CLIENTS);
    return SAME_NAME_CLIENTS + " clients x " + SAME_NAME_RUNS + " runs of S_1";
  }

  static String casePipeline() throws Exception {
    // executeBatch sends the batch's Bind/Execute messages before reading results.
    return withTable("pipe", "id int, v text", (c, table) -> {
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + table + " VALUES (?, ?)")) {
        for (int i = 0; i < 200; i++) {
          ps.setInt(1, i);
          ps.setString(2, "v" + i);
          ps.addBatch();
        }
        int[] counts = ps.executeBatch();
        check(counts.length == 200, "batch counts " + counts.length);
      }
      long count = scalarLong(c, "SELECT count(*) FROM " + table);
      long sum = scalarLong(c, "SELECT sum(id) FROM " + table);
      check(count == 200 && sum == 19900, "after the batch: " + count + " rows, sum " + sum);
      return "200 inserts in one executeBatch";
    });
  }

  static String caseTransactions() throws Exception {
    return withTable("tx", "id int", (c, table) -> {
      try (Connection other = connect(); PreparedStatement ins = c.prepareStatement("INSERT INTO " + table + " VALUES (?)")) {
        c.setAutoCommit(false);
        ins.setInt(1, 1);
        ins.executeUpdate();
        c.commit();
        ins.setInt(1, 2);
        ins.executeUpdate();
        c.rollback();
        ins.setInt(1, 3);
        ins.executeUpdate();
        var sp = c.setSavepoint();
        ins.setInt(1, 4);
        ins.executeUpdate();
        c.rollback(sp);
        c.commit();
        c.setAutoCommit(true);
        List<Integer> seen = new ArrayList<>();
        try (Statement s = other.createStatement(); ResultSet rs = s.executeQuery("SELECT id FROM " + table + " ORDER BY id")) {
          while (rs.next()) seen.add(rs.getInt(1));
        }
        check(seen.equals(List.of(1, 3)), "another connection sees " + seen + ", wanted [1, 3]");
      }
      return "committed rows seen elsewhere, rolled back ones not";
    });
  }

  static String caseErrorRecovery() throws Exception {
    return withTable("err", "id int PRIMARY KEY", (c, table) -> {
      c.setAutoCommit(false);
      try (PreparedStatement ins = c.prepareStatement("INSERT INTO " + table + " VALUES (?)");
           PreparedStatement div = c.prepareStatement("SELECT 100 / ?::int4")) {
        ins.setInt(1, 1);
        ins.executeUpdate();
        div.setInt(1, 0);
        expectState("22012", "division by zero", () -> div.executeQuery().close());
        expectState("25P02", "a statement after the error", () -> scalarLong(c, "SELECT 1"));
        c.rollback();
        for (int n = 1; n < 8; n++) {  // past the prepare threshold after the error
          div.setInt(1, n);
          try (ResultSet rs = div.executeQuery()) {
            rs.next();
            check(rs.getInt(1) == 100 / n, "100 / " + n + " = " + rs.getInt(1));
          }
          c.commit();
        }
        check(scalarLong(c, "SELECT count(*) FROM " + table) == 0, "rolled back insert is there");
        ins.executeUpdate();
        c.commit();
        expectState("23505", "duplicate key", ins::executeUpdate);
        c.rollback();
        check(scalarLong(c, "SELECT 42") == 42, "usable after unique violation");
        c.commit();
      }
      return "22012 then 25P02, rollback, 23505, connection usable";
    });
  }

  static String caseCopyIn() throws Exception {
    return withTable("copyin", "id int, v text", (c, table) -> {
      StringBuilder data = new StringBuilder();
      for (int i = 0; i < 10000; i++) data.append(i).append("\trow\\t").append(i).append('\n');
      CopyManager copy = c.unwrap(PGConnection.class).getCopyAPI();
      long rows = copy.copyIn("COPY " + table + " (id, v) FROM STDIN", new StringReader(data.toString()));
      check(rows == 10000, "COPY reported " + rows);
      try (Statement s = c.createStatement();
           ResultSet rs = s.executeQuery("SELECT count(*), sum(id), max(v) FROM " + table)) {
        rs.next();
        check(rs.getLong(1) == 10000 && rs.getLong(2) == 49995000 && rs.getString(3).equals("row\t9999"),
            "after COPY: " + rs.getLong(1) + ", " + rs.getLong(2) + ", " + rs.getString(3));
      }
      return "10000 rows";
    });
  }

  static String caseCopyOut() throws Exception {
    try (Connection c = connect()) {
      StringWriter out = new StringWriter();
      long rows = c.unwrap(PGConnection.class).getCopyAPI()
          .copyOut("COPY (SELECT g, 'v' || g FROM generate_series(1, 10000) g) TO STDOUT", out);
      String[] lines = out.toString().split("\n");
      check(rows == 10000 && lines.length == 10000 && lines[9999].equals("10000\tv10000"),
          rows + " rows, " + lines.length + " lines");
    }
    return "10000 rows";
  }

  static String caseLargeResult() throws Exception {
    try (Connection c = connect();
         PreparedStatement ps = c.prepareStatement("SELECT g, repeat('x', 100) FROM generate_series(1, ?::int4) g")) {
      ps.setInt(1, 100000);
      long n = 0, total = 0, width = 0;
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          n++;
          total += rs.getLong(1);
          width += rs.getString(2).length();
        }
      }
      check(n == 100000 && total == 5000050000L && width == 10000000, "got " + n + " rows, sum " + total);
    }
    return "100000 rows, 10 MB";
  }

  static String caseLargeParam() throws Exception {
    String text = "ab".repeat(2 * 1024 * 1024);
    byte[] blob = new byte[4 * 1024 * 1024];
    new Random(5).nextBytes(blob);
    String md5 = HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(blob));
    try (Connection c = connect();
         PreparedStatement ps = c.prepareStatement("SELECT length(?::text), md5(?::bytea), ?::bytea")) {
      ps.setString(1, text);
      ps.setBytes(2, blob);
      ps.setBytes(3, blob);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        check(rs.getInt(1) == text.length(), "text length " + rs.getInt(1));
        check(rs.getString(2).equals(md5), "bytea md5 differs");
        check(Arrays.equals(rs.getBytes(3), blob), "bytea echoed back differs");
      }
    }
    return "4 MB text, 4 MB bytea both ways";
  }

  static String caseNotice() throws Exception {
    List<String> notices = new ArrayList<>();
    try (Connection c = connect(); Statement s = c.createStatement()) {
      s.execute("DO $$ BEGIN RAISE NOTICE 'matrix notice %', 42; RAISE WARNING 'matrix warning'; END $$");
      for (SQLWarning w = s.getWarnings(); w != null; w = w.getNextWarning()) {
        String severity = w instanceof PSQLWarning p ? p.getServerErrorMessage().getSeverity() : "?";
        notices.add(severity + " " + (w instanceof PSQLWarning p ? p.getServerErrorMessage().getMessage() : w.getMessage()));
      }
    }
    check(notices.equals(List.of("NOTICE matrix notice 42", "WARNING matrix warning")), "notices " + notices);
    return "NOTICE and WARNING received";
  }

  static String caseCursor() throws Exception {
    // With autocommit off and a fetch size, pgJDBC reads through a portal in batches.
    try (Connection c = connect()) {
      c.setAutoCommit(false);
      long n = 0, total = 0;
      try (PreparedStatement ps = c.prepareStatement("SELECT g FROM generate_series(1, ?::int4) g")) {
        ps.setFetchSize(1000);
        ps.setInt(1, 5000);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            n++;
            total += rs.getLong(1);
          }
        }
      }
      c.commit();
      check(n == 5000 && total == 12502500, n + " rows, sum " + total);
    }
    return "5000 rows, fetch size 1000";
  }

  static String caseCancel() throws Exception {
    try (Connection c = connect(); Statement s = c.createStatement()) {
      Thread canceller = new Thread(() -> {
        try {
          Thread.sleep(500);
          s.cancel();
        } catch (Exception e) {
          // the query then runs on and the case fails on its own
        }
      });
      long started = System.nanoTime();
      canceller.start();
      expectState("57014", "pg_sleep(30)", () -> s.executeQuery("SELECT pg_sleep(30)").close());
      double took = (System.nanoTime() - started) / 1e9;
      canceller.join();
      check(took < 10, String.format("cancel took %.1f s", took));
      check(scalarLong(c, "SELECT 7") == 7, "usable after cancel");
      return String.format("57014 after %.1f s", took);
    }
  }

  static String caseManyConnections() throws Exception {
    summarize(runClients(MANY_CONNECTIONS, (i, c) -> {
      try (PreparedStatement ps = c.prepareStatement("SELECT ?::int4 + ?::int4")) {
        for (int n = 0; n < 5; n++) {
          ps.setInt(1, i);
          ps.setInt(2, n);
          try (ResultSet rs = ps.executeQuery()) {
            rs.next();
            if (rs.getInt(1) != i + n) throw new CaseFailed("got " + rs.getInt(1));
          }
        }
      }
    }), MANY_CONNECTIONS);
    return MANY_CONNECTIONS + " connections at once";
  }

  static String oneLine(String s) {
    String flat = String.join(" ", Objects.toString(s).trim().split("\\s+"));
    return flat.length() > 600 ? flat.substring(0, 600) : flat;
  }

  public static void main(String[] args) throws Exception {
    Map<String, Callable<String>> cases = new LinkedHashMap<>();
    cases.put("types", JdbcMatrix::caseTypes);
    cases.put("reuse", JdbcMatrix::caseReuse);
    cases.put("same_name_many_clients", JdbcMatrix::caseSameNameManyClients);
    cases.put("pipeline", JdbcMatrix::casePipeline);
    cases.put("transactions", JdbcMatrix::caseTransactions);
    cases.put("error_recovery", JdbcMatrix::caseErrorRecovery);
    cases.put("copy_in", JdbcMatrix::caseCopyIn);
    cases.put("copy_out", JdbcMatrix::caseCopyOut);
    cases.put("large_result", JdbcMatrix::caseLargeResult);
    cases.put("large_param", JdbcMatrix::caseLargeParam);
    cases.put("notice", JdbcMatrix::caseNotice);
    cases.put("cursor", JdbcMatrix::caseCursor);
    cases.put("cancel", JdbcMatrix::caseCancel);
    cases.put("many_connections", JdbcMatrix::caseManyConnections);

    List<String> wanted = List.of(args);
    for (String w : wanted) {
      if (!cases.containsKey(w)) {
        System.err.println("unknown case: " + w);
        System.exit(2);
      }
    }
    System.out.println("DRIVER pgjdbc " + org.postgresql.util.DriverInfo.DRIVER_VERSION + " (Java "
        + System.getProperty("java.version") + ")");
    warmUp();
    int failed = 0;
    ExecutorService runner = Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r);
      t.setDaemon(true);  // a case that hangs must not keep the JVM alive
      return t;
    });
    for (var entry : cases.entrySet()) {
      if (!wanted.isEmpty() && !wanted.contains(entry.getKey())) continue;
      long started = System.nanoTime();
      Future<String> f = runner.submit(entry.getValue());
      String line;
      try {
        line = "PASS " + oneLine(f.get(CASE_TIMEOUT_S, TimeUnit.SECONDS));
      } catch (TimeoutException e) {
        f.cancel(true);
        line = "FAIL timed out after " + CASE_TIMEOUT_S + " s";
      } catch (java.util.concurrent.ExecutionException e) {
        Throwable cause = e.getCause();
        line = "FAIL " + oneLine(cause instanceof CaseFailed ? "CaseFailed: " + cause.getMessage() : describe(cause));
        if (!(cause instanceof CaseFailed)) cause.printStackTrace();
      }
      if (line.startsWith("FAIL")) failed++;
      System.out.printf("CASE %s %s (%.2f s)%n", entry.getKey(), line, (System.nanoTime() - started) / 1e9);
      System.out.flush();
    }
    System.exit(failed == 0 ? 0 : 1);
  }
}
