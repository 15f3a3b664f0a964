-- CreateEnum
CREATE TYPE "ProvisioningRunStatus" AS ENUM ('RUNNING', 'AWAITING_HOST_KEY', 'SUCCEEDED', 'FAILED');

-- CreateEnum
CREATE TYPE "ProvisioningStepStatus" AS ENUM ('PENDING', 'RUNNING', 'CHANGED', 'UNCHANGED', 'FAILED', 'SKIPPED');

-- AlterTable
ALTER TABLE "Node" ADD COLUMN     "address" TEXT,
ADD COLUMN     "connectionId" TEXT,
ADD COLUMN     "cordoned" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "drainDeadlineAt" TIMESTAMP(3),
ADD COLUMN     "freeSlots" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "removedAt" TIMESTAMP(3),
ADD COLUMN     "runners" JSONB NOT NULL DEFAULT '[]';

-- CreateTable
CREATE TABLE "NodeEvent" (
    "id" BIGSERIAL NOT NULL,
    "nodeId" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "fromState" "NodeState",
    "toState" "NodeState",
    "message" TEXT,
    "actor" TEXT NOT NULL,
    "detail" JSONB,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "NodeEvent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "SshHost" (
    "nodeId" TEXT NOT NULL,
    "address" TEXT NOT NULL,
    "port" INTEGER NOT NULL DEFAULT 22,
    "user" TEXT NOT NULL,
    "privateKeyCipher" TEXT NOT NULL,
    "hostKeyFingerprint" TEXT,
    "offeredHostKeyFingerprint" TEXT,
    "installDir" TEXT NOT NULL,
    "agentEnv" JSONB NOT NULL DEFAULT '{}',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "SshHost_pkey" PRIMARY KEY ("nodeId")
);

-- CreateTable
CREATE TABLE "ProvisioningRun" (
    "id" TEXT NOT NULL,
    "nodeId" TEXT NOT NULL,
    "status" "ProvisioningRunStatus" NOT NULL,
    "actor" TEXT NOT NULL,
    "error" TEXT,
    "tries" INTEGER NOT NULL DEFAULT 1,
    "startedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" TIMESTAMP(3),
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ProvisioningRun_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ProvisioningStep" (
    "id" TEXT NOT NULL,
    "runId" TEXT NOT NULL,
    "position" INTEGER NOT NULL,
    "name" TEXT NOT NULL,
    "status" "ProvisioningStepStatus" NOT NULL DEFAULT 'PENDING',
    "output" TEXT NOT NULL DEFAULT '',
    "error" TEXT,
    "startedAt" TIMESTAMP(3),
    "finishedAt" TIMESTAMP(3),
    "durationMs" INTEGER,

    CONSTRAINT "ProvisioningStep_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Node_state_lastHeartbeatAt_idx" ON "Node"("state", "lastHeartbeatAt");

-- CreateIndex
CREATE INDEX "NodeEvent_nodeId_id_idx" ON "NodeEvent"("nodeId", "id");

-- CreateIndex
CREATE INDEX "ProvisioningRun_nodeId_startedAt_idx" ON "ProvisioningRun"("nodeId", "startedAt");

-- CreateIndex
CREATE UNIQUE INDEX "ProvisioningStep_runId_position_key" ON "ProvisioningStep"("runId", "position");

-- AddForeignKey
ALTER TABLE "NodeEvent" ADD CONSTRAINT "NodeEvent_nodeId_fkey" FOREIGN KEY ("nodeId") REFERENCES "Node"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "SshHost" ADD CONSTRAINT "SshHost_nodeId_fkey" FOREIGN KEY ("nodeId") REFERENCES "Node"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ProvisioningRun" ADD CONSTRAINT "ProvisioningRun_nodeId_fkey" FOREIGN KEY ("nodeId") REFERENCES "Node"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ProvisioningStep" ADD CONSTRAINT "ProvisioningStep_runId_fkey" FOREIGN KEY ("runId") REFERENCES "ProvisioningRun"("id") ON DELETE CASCADE ON UPDATE CASCADE;
