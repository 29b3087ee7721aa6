-- The Admin API's user search (GET /admin/v1/users?email_prefix=) is
-- "email" LIKE 'prefix%'. SQLite's LIKE is case-insensitive, so it can use
-- an index only when the index is COLLATE NOCASE (emails are stored
-- lower-case, so NOCASE matches the same rows). Not expressible in
-- prisma/models.prisma, so it lives here only.
CREATE INDEX "Account_email_prefix_idx" ON "Account"("email" COLLATE NOCASE);
