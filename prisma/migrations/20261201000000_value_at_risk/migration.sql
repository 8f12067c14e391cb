-- "priority" held value x score, which every other place calls value at risk: one name for one number.
ALTER TABLE "customer_score" RENAME COLUMN "priority" TO "value_at_risk";
