// drizzle-kit config for the PostgreSQL twin schema (cluster mode); the SQLite one is
// drizzle.config.ts. `bun run db:generate` runs both and embeds each folder.
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "postgresql",
  schema: "./src/db/schema.pg.ts",
  out: "./src/db/migrations-pg",
});
