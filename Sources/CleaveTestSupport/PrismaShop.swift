/// A Prisma-style monolith the tests build themselves (issue 13): quoted CamelCase tables as Prisma names them,
/// `TIMESTAMP(3)` and `DECIMAL` columns, a `_prisma_migrations` history with rows, enums each used by one service,
/// an extension only some services use (`citext`, `pg_trgm`) and one only the monolith has (`pg_stat_statements`),
/// a one-to-one pair (`User` and `Profile`), a parent with soft-deleted rows and its children, and tickets that
/// point at users.
public enum PrismaShop {
  /// The schema and a few hundred rows, for a database of the test's own.
  public static let sql = """
    CREATE EXTENSION IF NOT EXISTS citext;
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
    CREATE TYPE "Role" AS ENUM ('USER', 'ADMIN');
    CREATE TYPE "OrderStatus" AS ENUM ('PENDING', 'PAID', 'SHIPPED');
    CREATE TYPE "TicketPriority" AS ENUM ('LOW', 'HIGH');
    CREATE TYPE "Unused" AS ENUM ('A', 'B');
    CREATE TABLE "_prisma_migrations" (
      "id" VARCHAR(36) PRIMARY KEY, "checksum" VARCHAR(64) NOT NULL, "finished_at" TIMESTAMPTZ,
      "migration_name" VARCHAR(255) NOT NULL, "logs" TEXT, "rolled_back_at" TIMESTAMPTZ,
      "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(), "applied_steps_count" INTEGER NOT NULL DEFAULT 0);
    INSERT INTO "_prisma_migrations" VALUES
      ('00000000-0000-0000-0000-000000000001', repeat('a', 64), now(), '20240101000000_init', NULL, NULL, now(), 1),
      ('00000000-0000-0000-0000-000000000002', repeat('b', 64), now(), '20240201000000_orders', NULL, NULL, now(), 1);
    CREATE TABLE "User" (
      "id" SERIAL PRIMARY KEY, "email" CITEXT NOT NULL, "name" TEXT, "role" "Role" NOT NULL DEFAULT 'USER',
      "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP);
    CREATE UNIQUE INDEX "User_email_key" ON "User"("email");
    CREATE TABLE "Profile" (
      "id" SERIAL PRIMARY KEY, "userId" INTEGER NOT NULL, "bio" TEXT,
      CONSTRAINT "Profile_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE);
    CREATE UNIQUE INDEX "Profile_userId_key" ON "Profile"("userId");
    CREATE TABLE "Order" (
      "id" SERIAL PRIMARY KEY, "userId" INTEGER NOT NULL, "status" "OrderStatus" NOT NULL DEFAULT 'PENDING',
      "total" DECIMAL(10,2) NOT NULL, "deletedAt" TIMESTAMP(3),
      CONSTRAINT "Order_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id"));
    CREATE TABLE "Item" (
      "id" SERIAL PRIMARY KEY, "orderId" INTEGER NOT NULL, "sku" TEXT NOT NULL, "quantity" INTEGER NOT NULL,
      CONSTRAINT "Item_orderId_fkey" FOREIGN KEY ("orderId") REFERENCES "Order"("id") ON DELETE CASCADE);
    CREATE TABLE "SupportTicket" (
      "id" SERIAL PRIMARY KEY, "userId" INTEGER, "priority" "TicketPriority" NOT NULL, "subject" TEXT NOT NULL,
      CONSTRAINT "SupportTicket_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id"));
    CREATE TABLE "SearchLog" ("id" BIGSERIAL PRIMARY KEY, "query" TEXT NOT NULL);
    CREATE INDEX "SearchLog_query_idx" ON "SearchLog" USING gin ("query" gin_trgm_ops);
    INSERT INTO "User" ("email", "name", "role")
      SELECT 'User' || i || '@Example.com', 'User ' || i, CASE WHEN i % 10 = 0 THEN 'ADMIN' ELSE 'USER' END::"Role"
      FROM generate_series(1, 100) i;
    INSERT INTO "Profile" ("userId", "bio") SELECT i, 'bio ' || i FROM generate_series(1, 100, 2) i;
    INSERT INTO "Order" ("userId", "status", "total", "deletedAt")
      SELECT 1 + i % 100, (ARRAY['PENDING', 'PAID', 'SHIPPED'])[1 + i % 3]::"OrderStatus", i * 2.5,
        CASE WHEN i % 5 = 0 THEN TIMESTAMP '2024-06-01' END
      FROM generate_series(1, 300) i;
    INSERT INTO "Item" ("orderId", "sku", "quantity") SELECT 1 + i % 300, 'SKU-' || i, 1 + i % 4
      FROM generate_series(1, 900) i;
    INSERT INTO "SupportTicket" ("userId", "priority", "subject")
      SELECT 1 + i % 100, CASE WHEN i % 3 = 0 THEN 'HIGH' ELSE 'LOW' END::"TicketPriority", 'Ticket ' || i
      FROM generate_series(1, 120) i;
    INSERT INTO "SearchLog" ("query") SELECT 'search ' || i FROM generate_series(1, 200) i;
    ANALYZE;
    """

  /// `Item`'s default transform: its rows whose order is left out are left out too.
  public static let itemFilter = #"where: '"orderId" IN (SELECT id FROM public."Order" WHERE "deletedAt" IS NULL)'"#

  /// The `services:` section of a plan splitting the shop four ways, databases named with `suffix`.
  ///
  /// `identity` (`User`, `Profile`), `orders` (`Order`, `Item`, soft-deleted orders and their items left out,
  /// the user re-keyed to the user's email), `support` (`SupportTicket`) and `search` (`SearchLog`), each with a
  /// migrations folder of its own under `migrations/`. `item` is the transform of `Item`: by default a filter
  /// that reads `Order` the way `Order`'s own does.
  public static func services(suffix: String, item: String = itemFilter) -> String {
    """
    identity:
      database: identity_\(suffix)
      tables: [public.User, public.Profile]
      migrations: migrations/identity
    orders:
      database: orders_\(suffix)
      tables: [public.Order, public.Item]
      migrations: migrations/orders
      transforms:
        public.Order:
          where: '"deletedAt" IS NULL'
          columns:
            userId:
              rekey: { via: public.User, match: id, take: email }
              rename_to: userEmail
        public.Item:
          \(item)
    support:
      database: support_\(suffix)
      tables: [public.SupportTicket]
      migrations: migrations/support
    search:
      database: search_\(suffix)
      tables: [public.SearchLog]
      migrations: migrations/search
    """
  }
}
