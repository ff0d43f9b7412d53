-- CreateEnum
CREATE TYPE "membership_status" AS ENUM ('active', 'pending');

-- AlterTable
ALTER TABLE "memberships" ADD COLUMN     "status" "membership_status" NOT NULL DEFAULT 'active';
