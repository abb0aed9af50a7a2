CREATE TABLE "evaluations" (
	"id" text PRIMARY KEY NOT NULL,
	"started_at" timestamp (3) with time zone NOT NULL,
	"finished_at" timestamp (3) with time zone NOT NULL,
	"stores" text NOT NULL,
	"summary" jsonb NOT NULL,
	"scenarios" jsonb NOT NULL
);
--> statement-breakpoint
CREATE INDEX "evaluations_finished_at_idx" ON "evaluations" USING btree ("finished_at" DESC NULLS LAST);