-- Weekly segment snapshots for the digests' trend charts: each segment's size and value at risk
-- as the first digest of a (local) week saw them, and the realised churn of that week's members,
-- filled in once the week is over. Members are kept only until then (churn is computed from them),
-- so a row holds a member list for at most about a week.
CREATE TABLE "segment_snapshot" (
    "segment" TEXT NOT NULL,
    "week_start" TIMESTAMPTZ(3) NOT NULL,
    "customers" INTEGER NOT NULL,
    "value_at_risk" DOUBLE PRECISION NOT NULL,
    "members" TEXT[],
    "churn_base" INTEGER,
    "churned" INTEGER,
    "taken_at" TIMESTAMPTZ(3) NOT NULL,
    "settled_at" TIMESTAMPTZ(3),

    CONSTRAINT "segment_snapshot_pkey" PRIMARY KEY ("segment", "week_start")
);

-- One row: this database's deployment id, part of every Message-ID and List-Id, so two deployments
-- (staging and production, two tenants) never produce the same Message-ID for different mail.
-- Random at creation; DEPLOYMENT_ID overrides it (a restored copy of a database keeps the id).
CREATE TABLE "deployment_identity" (
    "singleton" BOOLEAN NOT NULL DEFAULT true,
    "id" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "deployment_identity_pkey" PRIMARY KEY ("singleton"),
    CONSTRAINT "deployment_identity_singleton" CHECK ("singleton")
);
INSERT INTO "deployment_identity" ("singleton", "id") VALUES (true, substr(md5(gen_random_uuid()::text), 1, 12));
