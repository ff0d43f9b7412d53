// Prisma CLI configuration. Only the CLI reads this (generate; migrate where the schema
// engine exists); the server builds its own client from Config (src/db/prisma.ts).
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/latchkey' },
});
