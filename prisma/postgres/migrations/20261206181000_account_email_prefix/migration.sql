-- The Admin API's user search (GET /admin/v1/users?email_prefix=) is
-- "email" LIKE 'prefix%'. The unique index on "email" follows the database
-- collation, which PostgreSQL cannot use for LIKE unless it is C; an index
-- with text_pattern_ops can. Not expressible in prisma/models.prisma (the
-- models are shared with SQLite), so it lives here only.
CREATE INDEX "Account_email_prefix_idx" ON "Account"("email" text_pattern_ops);
